"""``make demo``: the main job on embedded defaults.

1. One TernaryDense (BitLinear) layer in float and in fixed point on Lava: their agreement,
   and Lava fixed point == the integer engine.
2. The MatMul-free LM: text generation from the shipped checkpoint on Lava ``sim-fixed``,
   token-for-token equal to the integer engine.
3. The sparse S5 denoiser: the shipped example clip streamed through Lava ``sim-fixed``, its
   output equal to the integer engine's, and the SI-SNR improvement.
"""
from __future__ import annotations

import importlib.util
import json
import sys


def denoise_demo() -> dict:
    import numpy as np

    from lava_llm import audio
    from lava_llm.models.denoiser import network

    params = network.load_checkpoint()
    den = network.Denoiser(params)
    noisy, sr = audio.read_wav(network.CHECKPOINT_DIR / "example_noisy.wav", den.sample_rate)
    clean, _ = audio.read_wav(network.CHECKPOINT_DIR / "example_clean.wav", den.sample_rate)
    spec, feats = den.analyse(noisy)
    with network.LavaStream(params, "sim-fixed") as stream:
        mask_lava = stream.process(feats)
    est_engine = den.denoise(noisy, "engine")
    est_lava = den.synthesise(spec, mask_lava, noisy.size)
    return {"seconds_of_audio": round(noisy.size / sr, 2),
            "output_equals_engine": bool(np.array_equal(est_lava, est_engine)),
            "si_snr_noisy_db": round(float(audio.si_snr(noisy, clean)), 2),
            "si_snri_sim_fixed_db": round(float(audio.si_snri(est_lava, noisy, clean)), 2)}


def main() -> int:
    from lava_llm.models.dense import compare

    print("== TernaryDense (BitLinear) layer, 64 -> 32, 20 steps ==")
    rep = compare(seed=0)
    for b, err in rep["rel_err_vs_float"].items():
        print(f"  {b:10s} max |y - y_float| / max|y_float| = {err:.2e}   "
              f"({rep['seconds'][b]:.2f} s)")
    exact = rep["equals_engine"]["sim-fixed"]
    print(f"  Lava sim-fixed == integer engine (bit-exact): {exact}")
    ok = exact and rep["rel_err_vs_float"]["sim-float"] < 1e-9
    if importlib.util.find_spec("lava_llm.models.lm.demo") is not None:
        from lava_llm.models.lm.demo import demo as lm_demo

        print("\n== MatMul-free LM, shipped checkpoint ==")
        res = lm_demo()
        print(json.dumps(res, indent=2, default=str))
        ok = ok and bool(res.get("tokens_equal", True))
    if importlib.util.find_spec("lava_llm.models.denoiser") is not None:
        print("\n== Sparse S5 denoiser, shipped example clip ==")
        res = denoise_demo()
        print(json.dumps(res, indent=2))
        ok = ok and res["output_equals_engine"]
    print("\ndemo:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
