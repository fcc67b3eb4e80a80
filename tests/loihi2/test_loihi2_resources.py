"""The Loihi 2 cost model: the node lists mirror the fine-grained Lava forms, op counts equal
what the engines compute on the same input, limits are reported (not partitioned), the 370M
configuration needs a named Intel system, and the ``resources`` command's output and errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lava_llm import cli
from lava_llm.loihi2 import lm as L
from lava_llm.loihi2.denoiser import denoiser_nodes
from lava_llm.loihi2.graph import Node, map_network
from lava_llm.loihi2.hardware import Loihi2Limits, systems_for
from lava_llm.loihi2.qubo import qubo_nodes
from lava_llm.models.lm import engine
from lava_llm.models.lm.config import LMConfig
from lava_llm.models.lm.generate import LanguageModel
from lava_llm.models.lm.params import random_params

CFG = LMConfig(vocab_size=11, hidden_size=16, num_layers=2, intermediate_size=24)
KEYS = ("neurons", "synapses", "synaptic_memory_bytes", "cores", "chips", "synops_per_step",
        "neuron_ops_per_step", "message_bits")


@pytest.fixture(scope="module")
def lm():
    return LanguageModel(random_params(CFG, seed=7))


def test_nodes_mirror_the_fine_grained_lava_form(lm):
    from lava_llm.models.lm.network import build_network
    from lava_llm.processes.gated_recurrence.models import SubMLGRUBlockModel
    from lava_llm.processes.lm_blocks.models import SubGLUBlockModel, SubLMHeadModel

    net = build_network(lm.float_model, lm.int_model, [1], 1)
    nodes = {n.name: n for n in L.lm_nodes(lm.int_model)}
    for blk, sub_cls, prefix in ((net.blocks[0], SubMLGRUBlockModel, "mlgru0."),
                                 (net.blocks[1], SubGLUBlockModel, "glu0."),
                                 (net.head, SubLMHeadModel, "head.")):
        subs = sub_cls(blk).find_sub_procs()
        assert {prefix + k for k in subs} == {k for k in nodes if k.startswith(prefix)}
        for k, p in subs.items():
            assert nodes[prefix + k].process == type(p).__name__, k
            if nodes[prefix + k].kind == "synapse":
                assert nodes[prefix + k].synapses == int(np.count_nonzero(p.weights.init))


@pytest.mark.parametrize("act", ["dynamic", "static"])
def test_trace_is_the_engine_and_synops_match_a_naive_count(act):
    lm = LanguageModel(random_params(CFG, seed=7), quant={"act": act})
    ids = np.random.default_rng(1).integers(0, CFG.vocab_size, 9)
    logits, values = L.trace(lm.int_model, ids)
    ref, _ = engine.int_forward(lm.int_model, ids[None])
    np.testing.assert_array_equal(logits, ref[0])  # the same computation as the engine
    nodes = {n.name: n for n in L.lm_nodes(lm.int_model, ids)}
    trits = L._trits_by_node(lm.int_model)
    total = 0
    for name, w in trits.items():
        w = np.asarray(w)   # int8 trits (the engine holds them packed)
        q = values[name + ":in"]
        naive = sum(1 for t in range(q.shape[0]) for j in range(q.shape[1]) if q[t, j] != 0
                    for i in range(w.shape[0]) if w[i, j] != 0)
        if act == "dynamic":   # the token's max m reaches every rescale neuron
            assert nodes[name].process == "TokenScaledDense"
            assert nodes[name].fan_in == w.shape[1] + 1
            naive += w.shape[0] * len(ids)
        else:
            assert nodes[name].process == "TernaryDense" and nodes[name].fan_in == w.shape[1]
        assert nodes[name].synops_per_step == pytest.approx(naive / len(ids), rel=1e-12)
        total += naive
    rep = map_network(list(nodes.values()))
    # + the norms' reductions: every input of a norm into its sum-of-squares accumulator
    # (and, AbsmaxRMSNorm, into its max neuron)
    norms = sum(n.neurons - 1 for n in nodes.values() if n.process == "RMSNorm") + sum(
        2 * (n.neurons - 2) for n in nodes.values() if n.process == "AbsmaxRMSNorm")
    assert norms > 0 and norms == sum(n.synapses for n in nodes.values()
                                      if n.process in ("RMSNorm", "AbsmaxRMSNorm"))
    assert rep["total"]["synops_per_step"] == pytest.approx(total / len(ids) + norms,
                                                            rel=1e-12)
    # messages: non-zero outputs only, so below the dense count somewhere (int8 zeros)
    dense = L.lm_nodes(lm.int_model)
    assert rep["total"]["message_bits"] <= map_network(dense)["total"]["message_bits"]
    n_neurons = sum(n.neurons for n in nodes.values() if n.kind != "host")
    assert rep["total"]["neurons"] == n_neurons == rep["total"]["neuron_ops_per_step"]
    # per BitLinear the dynamic front end has one more neuron (max + reciprocal) than static
    qn = nodes["mlgru0.i_norm"]
    assert (qn.process, qn.neurons) == (("AbsmaxRMSNorm", CFG.hidden_size + 2)
                                        if act == "dynamic" else ("RMSNorm", CFG.hidden_size + 1))
    msgs = np.count_nonzero(values["mlgru0.i_norm"]) / len(ids)
    assert qn.messages_per_step == pytest.approx(msgs + (L.SCALE_MESSAGES if act == "dynamic"
                                                         else 0))


def test_report_fields_and_totals(lm):
    rep = map_network(L.lm_nodes(lm.int_model))
    assert rep["estimate"] is True and "estimate" in rep["note"]
    for row in rep["processes"]:
        assert all(k in row for k in KEYS)
    for k in ("neurons", "synapses", "synaptic_memory_bytes", "cores", "synops_per_step"):
        assert rep["total"][k] == pytest.approx(sum(r[k] for r in rep["processes"]))
    assert rep["total"]["chips"] == math.ceil(rep["total"]["cores"] / 128)
    assert rep["total"]["power_proxy_per_step"] == pytest.approx(
        rep["total"]["synops_per_step"] + 10 * rep["total"]["neuron_ops_per_step"])
    assert rep["total"]["power_proxy_per_s"] is None  # an LM step has no fixed duration
    assert rep["fits"] and rep["smallest_system"] == "Oheo Gulch"


def test_limits_are_reported_not_partitioned(lm):
    rep = map_network(L.lm_nodes(lm.int_model), Loihi2Limits(max_fan_in=20))
    assert not rep["fits"]
    bad = {v["process"] for v in rep["violations"] if v["limit"] == "max_fan_in"}
    # fan-in > 20: the down projection (24 inputs + the token's max, dynamic int8 inputs)
    # and the norm before it (its reductions over the 24 channels)
    assert bad == {f"glu{i}.down_{k}" for i in range(CFG.num_layers) for k in ("syn", "norm")}
    assert {(v["process"].split(".")[1], v["value"]) for v in rep["violations"]} == {
        ("down_syn", 25), ("down_norm", 24)}
    assert all(v["allowed"] == 20 for v in rep["violations"])
    wide = map_network([Node("x", "P", "neuron", 4, payload_bits=32)])
    assert wide["violations"] == [{"process": "x", "limit": "max_payload_bits", "value": 32,
                                   "allowed": 24}]
    one = Node("s", "TernaryDense", "synapse", 1, synapses=4000, fan_in=4000,
               dense_weights=4000)
    mem = map_network([one], Loihi2Limits(synaptic_memory_bytes_per_core=1024,
                                          max_fan_in=8192))
    assert [v["limit"] for v in mem["violations"]] == [
        "synaptic_memory_bytes_per_core (one neuron)"]
    with pytest.raises(ValueError, match="cores_per_chip"):
        Loihi2Limits(cores_per_chip=0)


def test_cores_follow_memory_and_neurons():
    lim = Loihi2Limits()
    n = Node("s", "TernaryDense", "synapse", 1024, synapses=700_000, fan_in=1024,
             dense_weights=1024 * 1024)
    row = map_network([n], lim)["processes"][0]
    assert row["synaptic_memory_bytes"] == 1024 * 1024  # dense 8-bit beats sparse 24-bit
    assert row["cores"] == 8
    row = map_network([Node("n", "GLU", "neuron", 20000)], lim)["processes"][0]
    assert row["cores"] == 3 and row["synapses"] == 0


def test_systems():
    assert systems_for(1)["smallest_system"] == "Oheo Gulch"
    assert systems_for(8)["smallest_system"] == "Kapoho Point"
    assert systems_for(9) == {"smallest_system": "Hala Point",
                              "units_needed": {"Oheo Gulch": 9, "Kapoho Point": 2,
                                               "Hala Point": 1}}
    assert systems_for(2000)["smallest_system"] is None


def test_370m_needs_more_than_a_kapoho_point(capsys):
    assert cli.main(["resources", "--lm-config", "370m", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    from lava_llm.loihi2.cli import LM_370M

    cfg = LMConfig(**LM_370M)
    weights = sum(o * i for o, i in cfg.linear_shapes().values())
    # the ternary weights, plus each norm's reductions (one synapse per channel each: the
    # sum of squares; AbsmaxRMSNorm, the BitLinear front ends, also the max)
    H, I, L_ = cfg.hidden_size, cfg.intermediate_size, cfg.num_layers
    norm_inputs = sum(r["synapses"] for r in rep["processes"]
                      if r["process"] in ("RMSNorm", "AbsmaxRMSNorm"))
    assert norm_inputs == L_ * (3 * H + 2 * (5 * H + I)) + H + 2 * H
    assert rep["total"]["synapses"] - norm_inputs == pytest.approx(
        L.TERNARY_DENSITY * weights, rel=1e-6)
    assert rep["total"]["chips"] == math.ceil(rep["total"]["cores"] / 128)
    assert rep["total"]["chips"] > 8
    assert rep["smallest_system"] == "Hala Point"
    assert rep["units_needed"]["Kapoho Point"] == math.ceil(rep["total"]["chips"] / 8)
    assert rep["total"]["processes"] == 1 + 20 * 24 + 4
    # 2-bit weights (enough for trits) need about a quarter of the memory
    assert cli.main(["resources", "--lm-config", "370m", "--weight-bits", "2", "--json"]) == 0
    rep2 = json.loads(capsys.readouterr().out)
    assert rep2["total"]["synaptic_memory_bytes"] * 4 == pytest.approx(
        rep["total"]["synaptic_memory_bytes"], rel=1e-3)


def test_denoiser_counts_equal_op_counts():
    from lava_llm.models.denoiser import network
    from lava_llm.processes.ssm_diagonal import kernels as sk

    params = network.load_checkpoint()
    net = sk.Net(params, "q")
    feats = np.random.default_rng(0).integers(-2000, 6000, (12, net.F))
    feats[:, ::3] = 0
    nodes, ops = denoiser_nodes(params, feats)
    ref = sk.op_counts(sk.Net(params, "q"), feats)
    rep = map_network(nodes, dt_s=0.008)
    assert rep["total"]["synops_per_step"] == pytest.approx(ref["synops"], rel=1e-12)
    assert rep["total"]["neuron_ops_per_step"] == ref["neuron_ops"]
    assert rep["total"]["power_proxy_per_step"] == pytest.approx(ref["power_proxy"])
    assert rep["total"]["power_proxy_per_s"] == pytest.approx(ref["power_proxy"] / 0.008)
    nz = lambda k: int(np.count_nonzero(params[k]))  # noqa: E731  non-zero weights
    assert rep["total"]["synapses"] == (nz("q_enc") + nz("q_dec") + nz("q_w") + nz("q_b_re")
                                        + nz("q_b_im") + nz("q_c_re") + nz("q_c_im")
                                        + nz("q_d"))
    # one node per Process of the fine-grained Lava form, named and typed alike
    from lava_llm.processes.ssm_diagonal import SSMDiagonal
    from lava_llm.processes.ssm_diagonal.models import SubSSMDiagonalModel

    subs = SubSSMDiagonalModel(SSMDiagonal(params=params)).find_sub_procs()
    assert {n.name: n.process for n in nodes} == {k: type(p).__name__ for k, p in subs.items()}
    assert rep["total"]["processes"] == len(subs) == 18


def test_qubo_nodes():
    from lava_llm.models.qubo.problem import from_matrix

    q = np.array([[1.0, -2, 0], [0, 0, 3], [0, 0, -1]])
    prob = from_matrix(q)
    rep = map_network(qubo_nodes(prob, replicas=3))
    assert rep["total"]["neurons"] == 3 * 3 + 3
    # J = Q + Q^T off-diagonal: 4 non-zeros; the readout's reduction: 3 per replica
    assert rep["total"]["synapses"] == 3 * 4 + 3 * 3
    from lava_llm.processes.qubo_annealing import QuboAnnealer
    from lava_llm.processes.qubo_annealing.models import SubQuboAnnealerModel

    subs = SubQuboAnnealerModel(QuboAnnealer(q=q, temperatures=[1.0], replicas=3)
                                ).find_sub_procs()
    assert {n.name: n.process for n in qubo_nodes(prob, 3)} == {
        k: type(p).__name__ for k, p in subs.items()}


@pytest.mark.parametrize("argv, match", [
    (["resources"], "exactly one network"),
    (["resources", "--gset", "a.txt", "--qubo", "b.npy"], "exactly one network"),
    (["resources", "--lm-config", "nope.json"], "no such config"),
    (["resources", "--qubo", "/nonexistent/q.npy"], "q.npy"),
    (["resources", "--lm-config", "370m", "--weight-bits", "9"], "--weight-bits"),
])
def test_bad_input_is_one_clear_line(capsys, argv, match):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_lm_checkpoint_report(capsys):
    folder = Path(L.__file__).resolve().parent.parent / "checkpoints" / "lm_shakespeare"
    assert cli.main(["resources", "--checkpoint", str(folder), "--prompt", "ROMEO:",
                     "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["fits"] and rep["total"]["chips"] == 1
    assert "6 prompt tokens" in rep["activity"]
    assert rep["total"]["synops_per_step"] > 0


def test_synapse_node_and_summary():
    from lava_llm.loihi2 import summary, synapse_node

    # synapse_node is a TernaryDense (static-scale synapses: no per-token max input)
    lm = LanguageModel(random_params(CFG, seed=7), quant={"act": "static"})
    ids = np.arange(5) % CFG.vocab_size
    _, values = L.trace(lm.int_model, ids)
    w = lm.int_model["layers"][0]["i"]["trits"]
    node = synapse_node("i", w, values["mlgru0.i_syn:in"])
    ref = {n.name: n for n in L.lm_nodes(lm.int_model, ids)}["mlgru0.i_syn"]
    assert (node.synapses, node.synops_per_step, node.fan_in) == (
        ref.synapses, ref.synops_per_step, ref.fan_in)
    text = summary(map_network([node], Loihi2Limits(max_fan_in=4)))
    assert "does NOT fit" in text and "estimate" in text and "chips 1" in text


def test_cost_model_imports_without_lava():
    from test_layering import _run_blocked

    out = _run_blocked("""
        import sys
        for m in ("lava_llm.loihi2", "lava_llm.loihi2.lm", "lava_llm.loihi2.denoiser",
                  "lava_llm.loihi2.qubo", "lava_llm.loihi2.cli"):
            __import__(m)
        assert not any(m == "lava" or m.startswith("lava.") for m in sys.modules)
        from lava_llm.loihi2.cli import LM_370M
        from lava_llm.loihi2 import lm, map_network
        from lava_llm.models.lm.config import LMConfig
        rep = map_network(lm.lm_nodes_from_config(LMConfig(**LM_370M)))
        print(rep["total"]["chips"])
    """)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 8


def test_packing_small_processes_shares_cores():
    small = [Node(f"n{i}", "BiasNeuron", "neuron", 3000) for i in range(3)]
    syn = Node("s", "SparseSynapse", "synapse", 0, synapses=30_000, fan_in=100,
               dense_weights=10**6)
    big = Node("big", "GLU", "neuron", 20000)
    plain = map_network(small + [syn, big])
    assert plain["total"]["cores"] == 3 + 1 + 3 and not plain["packed"]
    packed = map_network(small + [syn, big], pack=True)
    rows = {r["name"]: r for r in packed["processes"]}
    # 3000 + 3000 neurons share a core, the third 3000 opens a second one; the synapse's
    # 90 kB of memory fits beside them; the big population keeps its own 3 cores
    assert packed["total"]["shared_cores"] == 2
    assert packed["total"]["cores"] == 2 + 3
    assert rows["n0"]["cores"] == pytest.approx(3000 / 8192)
    assert rows["big"]["cores"] == 3 and "core_group" not in rows["big"]
    groups = {}
    for r in packed["processes"]:
        if "core_group" in r:
            groups.setdefault(r["core_group"], []).append(r)
    for members in groups.values():
        assert sum(r["neurons"] for r in members) <= 8192
        assert sum(r["synaptic_memory_bytes"] for r in members) <= 128 * 1024


def test_cli_denoiser_fine_processes_packed(capsys):
    assert cli.main(["resources", "--denoiser", "--pack", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["total"]["processes"] == 18 and rep["packed"]
    assert rep["total"]["cores"] == 1       # the whole shipped denoiser fits one core
