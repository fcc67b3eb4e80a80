"""Fidelity of the integer LM against float64, block by block, for input-quantiser designs.

For a seeded random HF-style checkpoint (default: the 370M config of the seed paper, 24
layers, hidden 1024, vocab 32000, intermediate 2816; bf16 latent weights N(0, 0.02) (HF's
initializer_range) ternarised once by absmean as ``hf_import`` does, embeddings N(0, 1),
norm gains uniform in [0.5, 1.5], lower bounds N(0, 1)) and for the shipped trained char
model, this runs

* the float64 reference (:func:`lava_llm.models.lm.fidelity.float_trace`, equal to
  ``engine.float_forward``) and the same model in float32 (the torch backend) as the floor:
  any faithful integer model should be about as close to float64 as float32 is;
* the integer engine (numpy; the kernels the Lava ``fixed_pt`` models run) for every design
  of :func:`lava_llm.models.lm.export.export_int`'s ``quant`` switch: per-token dynamic int8
  absmax in integers (the shipped design: max reduction, reciprocal LUT + Newton step,
  shifts); static int8 with calibration percentile 100, 99.9 and 99; static int16 (wider
  graded messages); static int8 with power-of-two per-channel smoothing of outlier channels
  folded into the norm gains (``smooth``);
* the steps from the first dynamic design to the shipped one (:class:`legacy`,
  :class:`formats`: former kernels and formats put back) and diagnostics: exact
  nonlinearities (:class:`exact_luts`), 18 / 20 fractional bits for gates and state.

Metrics on held-out ids (random model: calibrated on 4 x 64 seeded random ids, scored on 4 x 64
others; shipped model: calibrated on 8 x 256 characters of tinyshakespeare, scored on 4 x 64
from its last 10 %): the mean per-token logit error ``||z - z64|| / ||z64 - mean(z64)||``, its
ratio to the float32 floor, top-1 agreement with float64, and the relative RMS error of the
residual stream after each layer. Plus the activation-outlier summary of both models
(:func:`lava_llm.models.lm.fidelity.outlier_report`).

Run: ``python -m benchmarks.lm_fidelity`` (``--layers/--hidden/--vocab/--inter`` for another
config, ``--quick`` for a 4-layer hidden-256 smoke run). Writes ``lm_fidelity``,
``lm_fidelity_shipped`` and ``lm_outliers`` in ``benchmarks/results/``; ``--breakdown-only``
writes ``lm_fidelity_layer0`` (the error of each quantity in the first layer of a hidden-1024
model, dynamic int8: step 0, shipped, shipped + exact LUTs, 20-bit gates); ``--bpc-only``
writes ``lm_fidelity_bpc`` (the shipped checkpoint's validation bits per character, every
integer design against torch and float64).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import write_results  # noqa: E402

DESIGNS = [  # (name, calibration percentile, quant + diagnostic switches)
    ("dynamic int8 (shipped)", 100.0, None),
    ("static p100", 100.0, {"act": "static"}),
    ("static p99.9", 99.9, {"act": "static"}),
    ("static p99", 99.0, {"act": "static"}),
    ("static int16", 100.0, {"act": "static", "act_bits": 16}),
    ("smooth pow2", 100.0, {"act": "smooth"}),
    # the steps from the first dynamic design to the shipped one (each a former kernel)
    ("dynamic, step 0: 12-bit gates, LUT sigmoid, LUT rsqrt", 100.0,
     {"gate_frac": 12, "legacy": ("sigmoid", "rsqrt")}),
    ("dynamic, step 1: + interpolated sigmoid", 100.0, {"gate_frac": 12, "legacy": ("rsqrt",)}),
    ("dynamic, step 2: + 2-Newton rsqrt, exact rescale", 100.0, {"gate_frac": 12}),
    ("dynamic int8, exact LUTs (diagnostic)", 100.0, {"exact_luts": True}),
    ("dynamic int8, 18-bit gate fractions (diagnostic, range +-32)", 100.0, {"gate_frac": 18}),
    ("dynamic int8, 20-bit gate fractions (diagnostic, range +-8)", 100.0, {"gate_frac": 20}),
]


class numpy_kernels:
    """The readable numpy forms of the integer BitLinear and RMSNorm
    (:func:`~lava_llm.processes.lm_blocks.kernels.int_bitlinear_parts`,
    ``int_rms_norm_numpy``) instead of their compiled twins (the same integers, tested), so
    that the diagnostics below, which swap kernel functions, reach every call."""

    def __enter__(self):
        from lava_llm.processes.lm_blocks import kernels as lk

        self.lk, self.saved = lk, (lk.int_bitlinear, lk.int_rms_norm)
        lk.int_bitlinear = lambda x, lin: lk.int_bitlinear_parts(x, lin)[2]
        lk.int_rms_norm = getattr(lk, "int_rms_norm_numpy", lk.int_rms_norm)
        return self

    def __exit__(self, *exc):
        self.lk.int_bitlinear, self.lk.int_rms_norm = self.saved
        return False


class formats:
    """Diagnostic only: run with other fixed-point formats than the shipped ones, by setting
    the module constants of :mod:`lava_llm.processes.lm_blocks.kernels` (and their copies in
    the MLGRU kernels and the export) while the model is exported and run: gates, MLGRU
    state, GLU and norm outputs with ``gate_frac`` fractional bits (shipped 16: range +-128;
    18: +-32; 20: +-8) and the norm-gain multipliers ``gain_bits`` wide (shipped 16)."""

    def __init__(self, gate_frac=None, gain_bits=None):
        from lava_llm.processes.lm_blocks import kernels as lk

        self.new = dict(GATE_FRAC=gate_frac or lk.GATE_FRAC, GAIN_BITS=gain_bits or lk.GAIN_BITS)

    def __enter__(self):
        from lava_llm.models.lm import export
        from lava_llm.processes.gated_recurrence import kernels as gk
        from lava_llm.processes.lm_blocks import kernels as lk

        self.mods = (lk, gk, export)
        self.saved = (dict(GATE_FRAC=lk.GATE_FRAC, GAIN_BITS=lk.GAIN_BITS),
                      dict(lk.make_int_norm.__kwdefaults__))
        self._set(self.new)
        return self

    def _set(self, vals):
        lk, gk, export = self.mods
        for k, v in vals.items():
            setattr(lk, k, v)
        gk.P, gk.ONE, export.P = vals["GATE_FRAC"], 1 << vals["GATE_FRAC"], vals["GATE_FRAC"]
        lk.make_int_norm.__kwdefaults__["out_frac"] = vals["GATE_FRAC"]

    def __exit__(self, *exc):
        lk = self.mods[0]
        self._set(self.saved[0])
        lk.make_int_norm.__kwdefaults__.update(self.saved[1])
        return False


class legacy:
    """Diagnostic only: put back kernels of the first dynamic design while the model is
    exported and run: ``"sigmoid"`` = the plain sigmoid LUT (1024 entries on [-8, 8), no
    interpolation: 2e-3 error) for the MLGRU gates, SiLU and GLU; ``"rsqrt"`` = the RMSNorm
    1/sqrt straight from the 768-entry LUT (``fixed_point.rsqrt_fixed``, 1e-3, 16 fractional
    bits out), a 20-bit unit vector and the per-token rescale with a 16-bit mantissa of the
    token's max."""

    def __init__(self, parts):
        self.parts = tuple(parts)

    def __enter__(self):
        from lava_llm import fixed_point as fp
        from lava_llm.processes.lm_blocks import kernels as lk

        self.lk = lk
        self.saved = {k: getattr(lk, k) for k in ("sigmoid_int", "silu_int", "int_rms_norm",
                                                  "int_dynamic_rescale", "NORM_T")}
        if "sigmoid" in self.parts:
            lk.sigmoid_int, lk.silu_int = fp.sigmoid_fixed, fp.silu_fixed
        if "rsqrt" in self.parts:
            def int_rms_norm(x, x_frac, wm, ws, eps_q, R=16):
                x = np.asarray(x, dtype=np.int64)
                ss = np.sum(x * x, axis=-1, keepdims=True) + np.int64(eps_q)
                r = fp.rsqrt_fixed(ss, 2 * x_frac, R)
                t = fp.rshift(x * r, x_frac + R - lk.NORM_T)
                return fp.rshift(t * np.asarray(wm, np.int64), ws)

            def int_dynamic_rescale(acc, m, mant, shift):
                k = np.maximum(fp.bit_length(m) - 16, 0)
                return fp.shift(np.asarray(acc, np.int64) * fp.rshift(m, k) * np.int64(mant),
                                k - shift)

            lk.int_rms_norm, lk.int_dynamic_rescale, lk.NORM_T = (int_rms_norm,
                                                                  int_dynamic_rescale, 20)
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            setattr(self.lk, k, v)
        return False


class exact_luts:
    """Diagnostic only (not a Loihi design): replace the sigmoid / SiLU / 1/sqrt of the LM
    kernels by correctly rounded float evaluations while the integer model runs, to split its
    error into "LUT error" and "format / quantiser error"."""

    def __enter__(self):
        from lava_llm.processes.lm_blocks import kernels as lk

        self.lk, self.saved = lk, (lk.sigmoid_int, lk.silu_int, lk.rsqrt_norm)

        def sigmoid(x, in_frac=lk.GATE_FRAC, out_frac=lk.GATE_FRAC):
            x = np.asarray(x, np.float64) * 2.0 ** -in_frac
            return np.round(2.0 ** out_frac / (1 + np.exp(-x))).astype(np.int64)

        def silu(x, in_frac=lk.GATE_FRAC, sig_frac=lk.GATE_FRAC):
            x = np.asarray(x, np.float64) * 2.0 ** -in_frac
            return np.round(x / (1 + np.exp(-x)) * 2.0 ** in_frac).astype(np.int64)

        def rsqrt(v):
            v = np.maximum(np.asarray(v, np.float64), 1)
            k = np.floor(np.log2(v) / 2).astype(np.int64)
            return np.round(2.0 ** (lk.RSQRT_FRAC + k) / np.sqrt(v)).astype(np.int64), k

        lk.sigmoid_int, lk.silu_int, lk.rsqrt_norm = sigmoid, silu, rsqrt
        return self

    def __exit__(self, *exc):
        self.lk.sigmoid_int, self.lk.silu_int, self.lk.rsqrt_norm = self.saved
        return False


def rss_gb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2 ** 30


def peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def hf_like_params(layers: int, hidden: int, vocab: int, inter: int, seed: int = 0):
    """Seeded random HGRNBit parameters as an HF checkpoint would give them after import."""
    import torch

    from lava_llm import fixed_point as fp
    from lava_llm.models.lm.config import LMConfig
    from lava_llm.models.lm.params import LMParams, TernaryLinear

    cfg = LMConfig(vocab_size=vocab, hidden_size=hidden, num_layers=layers,
                   intermediate_size=inter, eps=1e-6)
    rng = np.random.default_rng(seed)

    def bf16(a):
        return torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(
            torch.bfloat16).to(torch.float64).numpy()

    def gain(n):
        return bf16(rng.uniform(0.5, 1.5, n))

    linears = {}
    for name, (o, i) in cfg.linear_shapes().items():
        w = bf16(rng.standard_normal((o, i), np.float32) * 0.02)
        t, a = fp.ternary_absmean(w)
        linears[name] = TernaryLinear(t.astype(np.int8), float(a), gain(i))
        del w, t
    tensors = {}
    for name, shp in cfg.tensor_shapes().items():
        if name == "model.embeddings.weight":
            tensors[name] = bf16(rng.standard_normal(shp, np.float32))
        elif name == "model.lower_bounds":
            tensors[name] = bf16(rng.standard_normal(shp, np.float32))
        else:
            tensors[name] = gain(shp[-1])
    return LMParams(cfg, linears, tensors).check()


def torch_float32_trace(params, ids):
    """The torch backend in float32 (frozen trits * alpha), built without float64 copies of
    the whole model; returns (logits float64, [residual after layer l])."""
    import torch

    from lava_llm.training.hgrn import HGRNBitForCausalLM

    with torch.device("meta"):
        model = HGRNBitForCausalLM(params.config)
    model = model.to_empty(device="cpu").to(torch.float32)
    with torch.no_grad():
        for name, m in model.bitlinears().items():
            lin = params.linears[name]
            m.weight.copy_(torch.from_numpy(np.asarray(lin.trits, np.float32))
                           * np.float32(lin.scale))
            m.norm.weight.copy_(torch.from_numpy(np.asarray(lin.norm_weight, np.float32)))
            m.frozen = True
        sd = dict(model.named_parameters())
        for name, t in params.tensors.items():
            sd[name].copy_(torch.from_numpy(np.asarray(t, np.float32)))
    res = []
    hooks = [blk.register_forward_hook(lambda mod, inp, out: res.append(
        out[0].detach().double().numpy())) for blk in model.model.layers]
    emb = model.model.embeddings.weight.detach().double().numpy()[ids]
    with torch.no_grad():
        z, _ = model(torch.from_numpy(ids))
    for h in hooks:
        h.remove()
    z = z.double().numpy()
    del model, sd
    gc.collect()
    return z, [emb] + res


def study(params, calib_ids, score_ids, label: str) -> dict:
    from lava_llm.models.lm import export
    from lava_llm.models.lm import fidelity as F

    t0 = time.perf_counter()
    pcts = sorted({p for _, p, _ in DESIGNS}, reverse=True)
    calibs = dict(zip(pcts, export.calibrations(params, calib_ids, pcts, channels=True)))
    z64, r64 = F.float_trace(params, score_ids)
    top64 = z64.argmax(-1)
    z32, r32 = torch_float32_trace(params, score_ids)
    floor = float(F.logit_error(z32, z64).mean())

    def row(name, z, r, extra=None):
        e = F.logit_error(z, z64)
        out = {"model": label, "design": name, "logit_err": float(e.mean()),
               "x_floor": float(e.mean()) / floor, "top1_agree": float(np.mean(
                   z.argmax(-1) == top64)),
               "resid_err_per_layer": [F.rel_rms(a, b) for a, b in zip(r, r64)]}
        out["resid_err_last"] = out["resid_err_per_layer"][-1]
        L = len(r) - 1
        out["resid_err_mid"] = out["resid_err_per_layer"][max(L // 2, 1)]
        out.update(extra or {})
        return out

    rows = [row("float32 (floor)", z32, r32)]
    del z32, r32
    for name, pct, quant in DESIGNS:
        t = time.perf_counter()
        quant = dict(quant or {})
        exact, gate_frac = quant.pop("exact_luts", False), quant.pop("gate_frac", None)
        old = quant.pop("legacy", ())
        with contextlib.ExitStack() as stack:
            if gate_frac or old or exact:
                stack.enter_context(numpy_kernels())
            if gate_frac:
                stack.enter_context(formats(gate_frac=gate_frac))
            if old:
                stack.enter_context(legacy(old))
            qm = export.export_int(params, calibs[pct], quant or None)
            if exact:
                stack.enter_context(exact_luts())
            z, r = F.int_trace(qm, score_ids)
        rows.append(row(name, z, r, {"x_frac": qm["x_frac"], "seconds": time.perf_counter() - t}))
        del qm, z, r
        gc.collect()
        print(f"  {label} {name}: logit err {rows[-1]['logit_err']:.4g} "
              f"({rows[-1]['x_floor']:.3g}x floor), {rows[-1]['seconds']:.1f} s, "
              f"RSS {rss_gb():.2f} GB", file=sys.stderr)
    report = F.outlier_report(params, score_ids)
    return {"rows": rows, "outliers": F.summarise_outliers(report), "floor": floor,
            "seconds": time.perf_counter() - t0}


def first_layer_breakdown(hidden=1024, inter=2816, vocab=1000, seed=0) -> list[dict]:
    """Relative RMS error against float64 of each quantity in the first layer of a random
    hidden-1024 model, dynamic int8: the first dynamic design (step 0), the shipped one, the
    shipped one with exact LUTs and with 20-bit gate fractions."""
    from lava_llm import fixed_point as fp
    from lava_llm.models.lm import export
    from lava_llm.models.lm import fidelity as F
    from lava_llm.processes.gated_recurrence import kernels as gk
    from lava_llm.processes.lm_blocks import kernels as lk

    params = hf_like_params(1, hidden, vocab, inter, seed)
    cal = np.random.default_rng(seed + 1).integers(0, vocab, (4, 64))
    ids = np.random.default_rng(seed + 2).integers(0, vocab, (4, 64))
    calib = export.calibrate(params, cal)
    fm = export.float_model(params)
    eps = fm["eps"]
    Lf = fm["layers"][0]
    xf = fm["emb"][ids]
    af = lk.rms_norm(xf, Lf["attn_norm"], eps)
    fi, ff, fg = gk.mixer_pre_float(xf, Lf, eps)
    hf = gk.mlgru_float(fi, ff, np.zeros((ids.shape[0], hidden)), None)
    of = lk.rms_norm(fg, Lf["g_norm"], eps) * lk.silu(hf)
    q8f, _ = fp.int8_absmax_per_token(lk.rms_norm(of, Lf["o"].norm_weight, eps))
    x1f = gk.mixer_post_float(xf, hf, fg, Lf, eps)
    rows = {k: {"quantity": k} for k in ("attn-norm output a", "i/f/g pre-activations",
                                         "MLGRU state h", "o_proj input",
                                         "o_proj int8 codes differing", "residual after mixer")}
    for mode in ("step 0", "shipped", "shipped + exact LUTs", "20-bit gates"):
        with contextlib.ExitStack() as stack:
            stack.enter_context(numpy_kernels())
            if mode == "step 0":
                stack.enter_context(formats(gate_frac=12))
                stack.enter_context(legacy(("sigmoid", "rsqrt")))
            if mode == "20-bit gates":
                stack.enter_context(formats(gate_frac=20))
            if "exact" in mode:
                stack.enter_context(exact_luts())
            qm = export.export_int(params, calib, {"act": "dynamic"})
            P, Lq = gk.P, qm["layers"][0]
            xq = qm["emb"][ids]
            aq = lk.int_norm(xq, Lq["attn_norm"])
            qi, qf, qg = gk.mixer_pre_int(xq, Lq)
            hq = gk.mlgru_int(qi, qf, np.zeros((ids.shape[0], hidden), np.int64), None)
            oq = fp.saturate(fp.rshift(lk.int_norm(qg, Lq["g_norm"])
                                       * lk.silu_int(hq, P, P), P), fp.MSG_BITS)
            lo = Lq["o"]
            q8i, _ = lk.int_dynamic_quant(lk.int_rms_norm(oq, lo["in_frac"], lo["wm"], lo["ws"],
                                                          lo["eps_q"]))
            x1q = gk.mixer_post_int(xq, hq, qg, Lq)
            u = 2.0 ** -P
            rows["attn-norm output a"][mode] = F.rel_rms(aq * u, af)
            rows["i/f/g pre-activations"][mode] = F.rel_rms(
                np.stack([qi, qf, qg]) * u, np.stack([fi, ff, fg]))
            rows["MLGRU state h"][mode] = F.rel_rms(hq * u, hf)
            rows["o_proj input"][mode] = F.rel_rms(oq * u, of)
            rows["o_proj int8 codes differing"][mode] = float(np.mean(q8i != q8f))
            rows["residual after mixer"][mode] = F.rel_rms(x1q * 2.0 ** -qm["x_frac"], x1f)
    return list(rows.values())


def shipped_ids(T_cal=256, B_cal=8, T=64, B=4):
    from lava_llm.models.lm.generate import LanguageModel

    lm = LanguageModel.load()
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare" / \
        "input.txt"
    if not path.is_file():
        return lm, None, None
    text = path.read_text()
    ids = lm.tokenizer.encode(text)
    cal = ids[: B_cal * T_cal].reshape(B_cal, T_cal)
    held = ids[int(0.9 * ids.size):][: B * T].reshape(B, T)
    return lm, cal, held


def shipped_bpc() -> list[dict] | None:
    """Validation bits per character of the shipped checkpoint (last 10 % of tinyshakespeare,
    as ``scripts/train_lm.py`` scores it: 64 streams, state carried) for torch float32, the
    float64 numpy path (= sim-float) and the integer engine (= sim-fixed) in the shipped
    dynamic design and with static scales."""
    import torch

    from lava_llm.models.lm import engine, export
    from lava_llm.training.hgrn import HGRNBitForCausalLM

    lm, cal, _ = shipped_ids()
    if cal is None:
        return None
    text = (Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare" /
            "input.txt").read_text()
    ids = lm.tokenizer.encode(text)
    val = ids[int(0.9 * ids.size):]
    tm = HGRNBitForCausalLM.from_params(lm.params).eval()

    def torch_fn(x, state):
        with torch.no_grad():
            z, state = tm(torch.from_numpy(x), state)
        return z.double().numpy(), state

    fm = lm.float_model
    rows = [{"model": "ternary fake-quant (torch float32)",
             "val_bpc": engine.bits_per_char(torch_fn, val)},
            {"model": "ternary, numpy float64 path (= sim-float)",
             "val_bpc": engine.bits_per_char(lambda x, s: engine.float_forward(fm, x, s), val)}]
    for name, quant in (("integer engine (= sim-fixed), dynamic int8 (shipped)", None),
                        ("integer engine, static int8 scales", {"act": "static"})):
        qm = export.export_int(lm.params, lm.calibration, quant)
        t = time.perf_counter()
        bpc = engine.bits_per_char(lambda x, s: engine.int_forward(qm, x, s), val,
                                   scale=2.0 ** -qm["logit_frac"])
        rows.append({"model": name, "val_bpc": bpc, "seconds": time.perf_counter() - t})
    ref = rows[0]["val_bpc"]
    for r in rows:
        r["vs_fake_quant_pct"] = 100.0 * (r["val_bpc"] - ref) / ref
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--inter", type=int, default=2816)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="4 layers, hidden 256, vocab 4000")
    ap.add_argument("--breakdown-only", action="store_true",
                    help="only the first-layer error breakdown (lm_fidelity_layer0)")
    ap.add_argument("--bpc-only", action="store_true",
                    help="only the shipped model's validation bits/char (lm_fidelity_bpc)")
    args = ap.parse_args(argv)
    if args.bpc_only:
        rows = shipped_bpc()
        if rows is None:
            print("lm_fidelity: tinyshakespeare not found under ../shared/data", file=sys.stderr)
            return 1
        write_results("lm_fidelity_bpc", rows, command="python -m benchmarks.lm_fidelity "
                      "--bpc-only", columns=["model", "val_bpc", "vs_fake_quant_pct"],
                      notes="The shipped checkpoint (lava_llm/checkpoints/lm_shakespeare) on the "
                            "last 10% of tinyshakespeare (111540 chars), scored as "
                            "scripts/train_lm.py does (64 streams, state carried): the current "
                            f"integer designs. Load average {_loadavg()}.")
        return 0
    if args.breakdown_only:
        rows = first_layer_breakdown(seed=args.seed)
        write_results("lm_fidelity_layer0", rows,
                      command="python -m benchmarks.lm_fidelity --breakdown-only",
                      notes="First layer of a random HF-style model (hidden 1024, intermediate "
                            "2816, vocab 1000, 1 layer; as lm_fidelity's), dynamic int8 "
                            "quantiser, 4x64 random ids: relative RMS error against float64 "
                            "(the int8 row: fraction of the o_proj input's int8 codes that "
                            "differ from float64's). step 0 = the first dynamic design (12-bit "
                            "gates, plain LUT sigmoid and rsqrt); shipped = the shipped formats "
                            "and kernels; exact LUTs / 20-bit gates = the diagnostics of "
                            "lm_fidelity.")
        return 0
    if args.quick:
        args.layers, args.hidden, args.vocab, args.inter = 4, 256, 4000, 704
    import torch

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    cfg_s = (f"{args.layers} layers, hidden {args.hidden}, vocab {args.vocab}, intermediate "
             f"{args.inter}")
    params = hf_like_params(args.layers, args.hidden, args.vocab, args.inter, args.seed)
    n_params = sum(np.size(v.trits) for v in params.linears.values()) + sum(
        np.size(v) for v in params.tensors.values())
    print(f"random model ({cfg_s}, {n_params / 1e6:.0f}M parameters) built in "
          f"{time.perf_counter() - t0:.0f} s, RSS {rss_gb():.2f} GB", file=sys.stderr)
    rng = np.random.default_rng(args.seed + 1)
    cal = rng.integers(0, args.vocab, (4, 64))
    score = np.random.default_rng(args.seed + 2).integers(0, args.vocab, (4, 64))
    big = study(params, cal, score, f"random {n_params / 1e6:.0f}M")
    del params
    gc.collect()
    lm, cal_s, held = shipped_ids()
    small = study(lm.params, cal_s, held, "shipped char") if cal_s is not None else None
    cols = ["design", "logit_err", "x_floor", "top1_agree", "resid_err_mid",
            "resid_err_last"]
    cmd = "python -m benchmarks.lm_fidelity" + (" --quick" if args.quick else "") + (
        "" if (args.layers, args.hidden, args.vocab, args.inter) in
        ((24, 1024, 32000, 2816), (4, 256, 4000, 704)) else
        f" --layers {args.layers} --hidden {args.hidden} --vocab {args.vocab} "
        f"--inter {args.inter}")
    wall = time.perf_counter() - t0
    load = _loadavg()
    note = (f"Random HF-style model: {cfg_s} ({n_params / 1e6:.0f}M parameters), seed "
            f"{args.seed}, calibrated on 4x64 random ids, scored on 4x64 others. logit_err = "
            f"mean per-token ||z - z64|| / ||z64 - mean z64||; x_floor = logit_err / the "
            f"float32 run's; resid_err_* = relative RMS error of the residual stream after "
            f"the middle / last layer. Whole run {wall:.0f} s, peak RSS "
            f"{peak_rss_gb():.2f} GB, load average {load}.")
    write_results("lm_fidelity", big["rows"], command=cmd, notes=note, columns=cols,
                  extra={"config": cfg_s, "outliers": big["outliers"],
                         "floor": big["floor"], "peak_rss_gb": peak_rss_gb(),
                         "wall_s": wall})
    if small is not None:
        write_results("lm_fidelity_shipped", small["rows"], command=cmd, columns=cols,
                      notes="Shipped char model (2 layers, hidden 128): calibrated on 8x256 "
                            "characters of tinyshakespeare, scored on 4x64 from its last "
                            "10 %; columns as in lm_fidelity.",
                      extra={"outliers": small["outliers"], "floor": small["floor"]})
    orows = []
    for label, res in (("random", big), ("shipped", small)):
        if res is None:
            continue
        for kind, st in res["outliers"].items():
            orows.append({"model": label, "activation": kind, **st})
    write_results("lm_outliers", orows, command=cmd,
                  notes="Per BitLinear input (after its RMSNorm and gain: what is quantised) "
                        "and per residual stream: max over median of the per-channel max "
                        "|value|, and the kurtosis across channels per token (3 = Gaussian); "
                        "median and max over layers. Computed by "
                        "lava_llm.models.lm.fidelity.outlier_report on the scored ids.")
    return 0


def _loadavg() -> str:
    import os

    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
