"""One module per ``lgn-hw`` subcommand; each defines ``register(subparsers)``."""
