"""A progress bar must not fix the multiprocessing start method (Lava sets ``fork`` later)."""
import subprocess
import sys


def test_progress_bar_leaves_the_start_method_unset():
    code = ("import multiprocessing as mp\n"
            "from lava_llm.progress import bar\n"
            "for _ in bar(range(3), disable=False): pass\n"
            "assert mp.get_start_method(allow_none=True) is None\n"
            "mp.set_start_method('fork')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
