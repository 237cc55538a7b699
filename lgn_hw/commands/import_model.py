"""``lgn-hw import --from difflogic|torchlogix MODEL.pt OUT.lgn.json``."""

from __future__ import annotations

from ..cli import UsageError


def register(sub):
    p = sub.add_parser(
        "import", help="import a difflogic or torchlogix model as a netlist",
        description="Read a trained difflogic or torchlogix model's saved tensors (a state dict "
        "saved with torch.save, including each layer's connection indices; nothing in the file "
        "is executed and neither package is needed) and write the netlist.")
    p.add_argument("--from", dest="source", required=True, choices=("difflogic", "torchlogix"),
                   help="the library that trained the model")
    p.add_argument("model", help="the checkpoint file (.pt)")
    p.add_argument("out", help="the netlist file to write (*.lgn.json)")
    p.add_argument("--classes", type=int, help="number of classes (GroupSum k), if not in the file")
    p.add_argument("--tau", type=float, help="GroupSum temperature, if not in the file (default 1)")
    p.add_argument("--inputs", type=int,
                   help="number of input bits (default: from the file, else the first layer's connections)")
    p.add_argument("--parametrization", choices=("raw", "walsh", "light"),
                   help="torchlogix weight parametrization (needed for 4-column weights)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..netlist.importers import import_model

    try:
        net = import_model(args.model, args.source, num_classes=args.classes, tau=args.tau,
                           num_inputs=args.inputs, parametrization=args.parametrization)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    net.save(args.out)
    print(f"wrote {args.out}: {net.num_inputs} inputs, {net.depth} layers, {net.num_gates} gates, "
          f"{net.num_classes} classes")
    return 0
