# Sourced by the Vivado project that Edalize writes for the .core's synth_vivado target
# (a tclSource file is sourced after the project is created): synthesize the core out of
# context, without I/O buffers, as published LUT counts are measured. Edalize's project flow
# has no option for it; vivado_ooc.tcl (lgn-hw export --vivado PART) also places and routes.
set_property -name {STEPS.SYNTH_DESIGN.ARGS.MORE OPTIONS} -value {-mode out_of_context} -objects [get_runs synth_1]
