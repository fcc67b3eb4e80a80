"""``lava-llm resources``: the Loihi 2 resource estimate of a network's fine-grained form.

    lava-llm resources --checkpoint lava_llm/checkpoints/lm_shakespeare --json
    lava-llm resources --lm-config 370m --json          # shapes only: chips and systems
    lava-llm resources --denoiser [--checkpoint F.npz] [--input noisy.wav] --json
    lava-llm resources --gset G1.txt --json
    lava-llm resources --qubo q.npy --replicas 4 --json
    lava-llm resources --denoiser --pack --json        # small Processes share cores

Prints the report of :func:`lava_llm.loihi2.graph.map_network`: ``estimate: true``, per
Process (``processes``) and in ``total`` the neurons, synapses (non-zero weights),
synaptic_memory_bytes, cores, chips, synops_per_step, neuron_ops_per_step, message_bits and
the power proxy; ``fits`` and ``violations`` (which Process breaks which limit);
``smallest_system`` (Oheo Gulch, Kapoho Point, Hala Point) and ``units_needed``. The
Processes are those of the fine-grained Lava forms (the LM's, the denoiser's 4 + 7 per layer,
the annealer's neurons / synapses / readout); with ``--pack`` Processes smaller than a core
share cores (an assumption, ``docs/loihi2_mapping.md``).
LM activity is measured by the integer engine on ``--prompt`` (default: 32 seeded random
tokens); the denoiser's on ``--input`` (default: the shipped example clip).
"""
from __future__ import annotations

HELP = "estimate the Loihi 2 resources (cores, chips, ops) of a network's fine-grained form"
BACKENDS = ("engine",)

#: ``--lm-config 370m``: the MatMul-free LM 370M shape.
LM_370M = dict(vocab_size=32000, hidden_size=1024, num_layers=24, intermediate_size=2816)


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", default=None,
                        help="LM checkpoint folder; with --denoiser, the denoiser's .npz")
    parser.add_argument("--lm-config", default=None, metavar="370m|CONFIG.json",
                        help="LM from shapes only (no weights): '370m' or a config.json")
    parser.add_argument("--denoiser", action="store_true", help="the S5 denoiser")
    parser.add_argument("--gset", metavar="FILE", default=None, help="Gset Max-Cut file")
    parser.add_argument("--qubo", metavar="FILE.npy", default=None, help="dense QUBO matrix")
    parser.add_argument("--granularity", choices=("fine",), default="fine",
                        help="the form mapped onto the chip (only the fine-grained one)")
    parser.add_argument("--pack", action="store_true",
                        help="let Processes smaller than a core share cores (first-fit; an "
                             "assumption about the compiler, docs/loihi2_mapping.md); default: "
                             "at least one core per Process")
    parser.add_argument("--prompt", default=None,
                        help="LM: text (or 'i,j,k' token ids) the activity is measured on")
    parser.add_argument("--input", default=None, help="denoiser: noisy wav for the activity")
    parser.add_argument("--replicas", type=int, default=1, help="QUBO replicas (default 1)")
    parser.add_argument("--weight-bits", type=int, default=8,
                        help="bits per stored synaptic weight (default 8; ternary needs 2)")
    parser.add_argument("--density", type=float, default=None,
                        help="--lm-config: share of non-zero ternary weights (default 0.69)")


def _limits(args):
    from lava_llm.loihi2.hardware import Loihi2Limits

    return Loihi2Limits(weight_bits=args.weight_bits)


def _sources(args) -> list:
    chosen = [k for k, v in (("--denoiser", args.denoiser), ("--gset", args.gset),
                             ("--qubo", args.qubo), ("--lm-config", args.lm_config)) if v]
    if args.checkpoint is not None and not args.denoiser:
        chosen.append("--checkpoint")
    if len(chosen) != 1:
        raise ValueError("give exactly one network: --checkpoint DIR (LM), --lm-config "
                         "370m|FILE, --denoiser [--checkpoint F], --gset FILE or --qubo "
                         f"FILE.npy (got {chosen or 'none'})")
    return chosen[0]


def _lm_report(args) -> dict:
    import numpy as np

    from lava_llm.loihi2 import lm as L
    from lava_llm.loihi2.graph import map_network
    from lava_llm.models.lm.generate import load_model

    model = load_model(args.checkpoint)
    V = model.config.vocab_size
    if args.prompt is None:
        ids = np.random.default_rng(args.seed).integers(0, V, 32)
        activity = f"integer engine on 32 random tokens (seed {args.seed})"
    else:
        prompt = args.prompt
        if model.tokenizer is None:
            try:
                prompt = [int(t) for t in prompt.split(",")]
            except ValueError:
                raise ValueError("--prompt: this checkpoint has no tokenizer; give token ids "
                                 "as 'i,j,k'") from None
        ids = model.encode(prompt)
        activity = f"integer engine on the {ids.size} prompt tokens"
    nodes = L.lm_nodes(model.int_model, ids)
    return map_network(nodes, _limits(args), activity=activity, pack=args.pack,
                       network=f"MatMul-free LM {_shape(model.config)}")


def _shape(c) -> str:
    return (f"(vocab {c.vocab_size}, hidden {c.hidden_size}, layers {c.num_layers}, "
            f"intermediate {c.intermediate_size})")


def _lm_config_report(args) -> dict:
    from lava_llm.loihi2 import lm as L
    from lava_llm.loihi2.graph import map_network
    from lava_llm.models.lm.config import LMConfig

    if args.lm_config.lower() == "370m":
        cfg = LMConfig(**LM_370M)
    else:
        from pathlib import Path

        from lava_llm import validation as V

        if not Path(args.lm_config).is_file():
            raise FileNotFoundError(f"--lm-config {args.lm_config}: not '370m' and no such "
                                    "config file")
        cfg = LMConfig.from_dict(V.read_json_object(args.lm_config))
    density = L.TERNARY_DENSITY if args.density is None else args.density
    nodes = L.lm_nodes_from_config(cfg, density)
    return map_network(nodes, _limits(args), pack=args.pack,
                       network=f"MatMul-free LM {_shape(cfg)}, shapes only",
                       activity=f"upper bound: every input non-zero, {density:g} of the "
                                "weights non-zero")


def _denoiser_report(args) -> dict:
    from lava_llm import audio
    from lava_llm.loihi2.denoiser import denoiser_nodes
    from lava_llm.loihi2.graph import map_network
    from lava_llm.models.denoiser import network

    params = network.load_checkpoint(args.checkpoint)
    den = network.Denoiser(params)
    wav = args.input or str(network.CHECKPOINT_DIR / "example_noisy.wav")
    noisy, _ = audio.read_wav(wav, den.sample_rate)
    _, feats = den.analyse(noisy)
    nodes, ops = denoiser_nodes(params, den.quantize(feats))
    rep = map_network(nodes, _limits(args), dt_s=audio.HOP_SECONDS, pack=args.pack,
                      network="sparse S5 denoiser",
                      activity=f"integer engine on {ops['frames']} frames of {wav}")
    rep["engine_op_counts"] = {k: ops[k] for k in ("synops", "neuron_ops", "power_proxy")}
    return rep


def _qubo_report(args) -> dict:
    from lava_llm.loihi2.graph import map_network
    from lava_llm.loihi2.qubo import qubo_nodes
    from lava_llm.models.qubo import problem as P

    prob = P.read_gset(args.gset) if args.gset else P.read_qubo_npy(args.qubo)
    return map_network(qubo_nodes(prob, args.replicas), _limits(args), pack=args.pack,
                       network=f"QUBO annealer ({prob.n} variables, {args.replicas} replicas)",
                       activity="upper bound: every neuron flips every step")


def run(args) -> dict:
    from lava_llm import validation as V

    V.check_int("--replicas", args.replicas, 1, 1 << 16)
    V.check_int("--weight-bits", args.weight_bits, 1, 8)
    src = _sources(args)
    return {"--checkpoint": _lm_report, "--lm-config": _lm_config_report,
            "--denoiser": _denoiser_report, "--gset": _qubo_report,
            "--qubo": _qubo_report}[src](args)
