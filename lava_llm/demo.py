"""``make demo``: the main job on embedded defaults.

1. One TernaryDense (BitLinear) layer in float and in fixed point on Lava: their agreement,
   and Lava fixed point == the integer engine.
2. Where the MatMul-free LM is present: text generation from the shipped checkpoint on Lava
   ``sim-fixed``, token-for-token equal to the integer engine.
"""
from __future__ import annotations

import importlib.util
import json
import sys


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
    print("\ndemo:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
