"""The fine-grained SSMDiagonal (synapse and neuron Processes): its populations composed equal
the integer kernels exactly, and in Lava (sim-fixed) the sub-process model equals the fused
model and the engine bit for bit; sim-float matches the float kernels."""
import numpy as np
import pytest

from lava_llm import fixed_point as fp
from lava_llm.processes.ssm_diagonal import SSMDiagonal, fine_kernels as fk, kernels
from ssm_fixtures import random_params


@pytest.mark.parametrize("L,P,H,F", [(1, 2, 3, 2), (2, 4, 6, 5), (3, 5, 4, 7)],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("gain", [1.0, 60.0], ids=["normal", "saturating"])
def test_fine_populations_compose_to_int_run(L, P, H, F, gain):
    params, feats = random_params(L, P, H, F, 0.5, seed=L + 3 * P)
    fq = kernels.quantize_input(feats * gain, int(params["e_in"]))
    want, st = kernels.int_run(kernels.Net(params, "q"), fq)
    got, st_f = fk.int_run_fine(params, fq)
    assert np.array_equal(got, want)
    assert np.array_equal(st_f["s_re"], st["s_re"]) and np.array_equal(st_f["s_im"], st["s_im"])
    if gain > 1:
        assert np.abs(fq).max() >= 2 ** 15 - 1      # the 16-bit input rails are reached


def test_fine_layout_counts():
    params, _ = random_params(2, 4, 6, 5, 0.5, seed=1)
    layout = fk.fine_layout(params)
    assert len(layout) == fk.fine_leaves(2) == 18
    syn = {n: s for n, s in layout if s["kind"] == "synapse"}
    nnz = kernels.nnz(params)
    assert sum(s["weights"].size for n, s in syn.items() if n.startswith("b")) == 2 * nnz["b"]
    assert sum(s["weights"].size for n, s in syn.items() if n.startswith("c")) == 2 * nnz["c"]
    for s in syn.values():
        assert np.abs(s["weights"]).max() <= 128


def test_sigmoid_lut_vars_equal_fixed_point_sigmoid():
    sig = fk.sigmoid_vars()
    x = np.arange(-(1 << 15), 1 << 15, 7)
    got = fk.lut_apply(sig["sig_table"], sig["sig_x_min"], sig["sig_step"], x)
    assert np.array_equal(got, fp.sigmoid_fixed(x, kernels.GATE_FRAC, kernels.SIG_FRAC))
    assert sig["sig_table"].max() < 1 << 13


@pytest.mark.parametrize("rate", [8000, 16000])
def test_shipped_checkpoint_fine_equals_engine(rate):
    from lava_llm.models.denoiser import network

    params = network.load_checkpoint(network.CHECKPOINTS[rate])
    rng = np.random.default_rng(0)
    den = network.Denoiser(params)
    _, feats = den.analyse(rng.standard_normal(rate // 6) * 0.2)
    fq = den.quantize(feats)
    want, _ = kernels.int_run(den.net("q"), fq)
    got, _ = fk.int_run_fine(params, fq)
    assert np.array_equal(got, want)


def _run_fine(params, data, backend, split):
    from lava_llm.run import lava_session, run_config, wire_open_loop

    proc = SSMDiagonal(params=params)
    _, sink = wire_open_loop(proc, data)
    with lava_session(proc, run_config(backend, granularity="fine"), timeout_s=120) as s:
        s.run(split)                   # two runs: the state persists in the state neurons
        s.run(data.shape[1] - split)
        leaves = s.leaf_processes
        out = np.array(sink.data.get()).T
    return out, leaves


def test_lava_fine_sim_fixed_bit_exact_and_float_close():
    params, feats = random_params(1, 3, 4, 3, 0.6, seed=5, calib_T=9)
    fq = kernels.quantize_input(feats * 4, int(params["e_in"])).astype(np.int32)
    got, leaves = _run_fine(params, fq.T.copy(), "sim-fixed", 4)
    assert leaves == fk.fine_leaves(1) + 2          # + source and sink
    want, _ = kernels.int_run(kernels.Net(params, "q"), fq)
    assert np.array_equal(got.astype(np.int64), want)
    got_f, _ = _run_fine(params, feats.T.copy(), "sim-float", 5)
    want_f, _ = kernels.float_run(kernels.Net(params, "f"), feats)
    np.testing.assert_allclose(got_f, want_f, rtol=1e-12, atol=1e-12)


def test_fine_refuses_unrepresentable_c_im():
    from lava_llm.run import lava_session, run_config, wire_open_loop

    params, feats = random_params(1, 2, 3, 2, 1.0, seed=2, calib_T=4)
    params = dict(params)
    q = np.array(params["q_c_im"])
    q[0] = -128
    params["q_c_im"] = q
    proc = SSMDiagonal(params=params)
    wire_open_loop(proc, np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match="q_c_im must not hold -128"):
        with lava_session(proc, run_config("sim-fixed", granularity="fine")) as s:
            s.run(1)


def test_fine_processes_validate_their_arguments():
    from lava_llm.processes.ssm_diagonal import S5StateNeuron, SparseSynapse

    with pytest.raises(ValueError, match="weights"):
        SparseSynapse(indptr=[0, 1], indices=[0], weights=[300], weights_f=[1.0], shift=[0],
                      shape=(1, 1))
    with pytest.raises(ValueError, match="indices"):
        SparseSynapse(indptr=[0, 1], indices=[3], weights=[3], weights_f=[1.0], shift=[0],
                      shape=(1, 1))
    with pytest.raises(ValueError, match="stable"):
        S5StateNeuron(lam_re=[32767], lam_im=[32767], sb_re=[0], sb_im=[0], lam_re_f=[0.9],
                      lam_im_f=[0.0], sb_re_f=[0.0], sb_im_f=[0.0])


def test_every_parameter_is_a_var_with_its_width():
    from lava.magma.core.model.py.type import LavaPyType

    from lava_llm.processes.ssm_diagonal import models as M
    from lava_llm.processes.ssm_diagonal.models import SubSSMDiagonalModel

    params, _ = random_params(1, 2, 3, 2, 1.0, seed=4)
    proc = SSMDiagonal(params=params)
    assert set(proc.proc_params._parameters) <= {"shape", "name", "log_config"}
    subs = SubSSMDiagonalModel(proc).find_sub_procs()
    assert len(subs) == fk.fine_leaves(1)
    for p in subs.values():
        assert set(p.proc_params._parameters) <= {"shape", "name", "log_config"}, p.name
    fixed = [M.PySSMDiagonalModelFixed, M.PySparseSynapseModelFixed, M.PyBiasNeuronModelFixed,
             M.PyS5StateNeuronModelFixed, M.PyS5OutputNeuronModelFixed,
             M.PyS5GateNeuronModelFixed]
    for cls in fixed:
        types = {n: getattr(cls, n) for n in dir(cls)
                 if isinstance(getattr(cls, n, None), LavaPyType)}
        for name, t in types.items():
            if t.d_type is not float:
                assert t.precision is not None, (cls.__name__, name)
            if name.endswith(("_in", "_out")):                 # messages: at most 24 bits
                assert t.precision <= 24, (cls.__name__, name)
    # each fine Process's Vars cover its model's declared Vars (nothing left in proc_params)
    for p in subs.values():
        model = {"SparseSynapse": M.PySparseSynapseModelFixed,
                 "BiasNeuron": M.PyBiasNeuronModelFixed,
                 "S5StateNeuron": M.PyS5StateNeuronModelFixed,
                 "S5OutputNeuron": M.PyS5OutputNeuronModelFixed,
                 "S5GateNeuron": M.PyS5GateNeuronModelFixed}[type(p).__name__]
        declared = {n for n in dir(model) if isinstance(getattr(model, n, None), LavaPyType)}
        assert {v.name for v in p.vars} <= declared, type(p).__name__
