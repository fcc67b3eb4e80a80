"""Shared argument checks: messages name the argument (or file) and the allowed range."""
import pytest

from lava_llm import validation as V


def test_read_json_object(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"a": 1}')
    assert V.read_json_object(good) == {"a": 1}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad.json is not valid JSON"):
        V.read_json_object(bad)
    arr = tmp_path / "list.json"
    arr.write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"list.json must hold a JSON object, got list"):
        V.read_json_object(arr)


def test_lm_checkpoint_with_bad_config_is_named(tmp_path):
    from lava_llm.models.lm import checkpoint

    (tmp_path / checkpoint.CONFIG_FILE).write_text("[]")
    (tmp_path / checkpoint.WEIGHTS_FILE).write_bytes(b"")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        checkpoint.load_checkpoint(tmp_path)


def test_check_int_range_names_argument_and_range():
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 9\], found values in \[0, 12\]"):
        V.check_int_range("ids", [0, 12], 0, 9)


def test_checks_carry_the_argument_name():
    with pytest.raises(V.ArgumentError) as exc:
        V.check_int_range("ids", [0, 12], 0, 9)
    assert exc.value.argument == "ids" and isinstance(exc.value, ValueError)
    with pytest.raises(V.ArgumentTypeError) as exc:
        V.check_int("--steps", 1.5)
    assert exc.value.argument == "--steps" and isinstance(exc.value, TypeError)
