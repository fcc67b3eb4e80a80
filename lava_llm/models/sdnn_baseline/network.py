"""The Intel N-DNS baseline sigma-delta network (SDNN), built with lava-dl SLAYER.

Data flow (one step per 8 ms STFT frame, front end from :mod:`lava_llm.audio`)::

    wave --stft--> X --features--> f = log(|X| + eps)                  (frames, bins)
    u_t   = quantize((f_t - mean) / std, 1/64)                         input, 6 fractional bits
    d_t   = u_t - u_{t-1}                                              delta-coded input (host)
    h1    = SigmaDelta-ReLU(W1 d)    bins   -> hidden                  lava-dl sigma_delta.Dense
    h2    = SigmaDelta-ReLU(W2 h1)   hidden -> hidden                  lava-dl sigma_delta.Dense
    m_t   = Sigma(W3 h2)             hidden -> bins                    lava-dl sigma_delta.Output
    Y     = X * max(1 + m, 0);  wave' = istft(Y)                       audio.apply_mask

A sigma-delta ReLU neuron integrates its (delta) input into ``sigma``, applies ReLU and sends
the change of its activation since its last message, only where that change reaches the
threshold (``threshold`` = 0.1, i.e. ``vThMant`` 6 at SLAYER's weight scale 64): it talks only
when its activation moves. Weights are 8-bit (step 2/64, range [-4, 3.97], SLAYER's
``quantize_8bit``). This is the N-DNS ``sdnn_delays`` baseline recipe (two sigma-delta ReLU
layers and a sigma output layer predicting the multiplicative mask ``relu(1 + m)``, trained on
``lam * MSE(|Y|, |S|) + (100 - SI-SNR)``) without the learnt axonal delays (the repository's
"nodelay" variant) and scaled to the 129 bins of 8 kHz audio; the input is the shared
log-magnitude feature (the N-DNS baseline feeds the raw magnitude minus 0.2). Training adds
:func:`state_penalty` so that every sigma state fits Loihi's 24-bit neuron state
(:func:`state_range` measures it; Lava's Python models would not flag an overflow).

Export / Lava: :meth:`SDNNDenoiser.export_hdf5` writes the three blocks as ``dense`` layers
(no SLAYER ``Input`` block: netx turns that into a ``PyInputModel`` that Lava 0.10 cannot
compile); the host sends the delta-coded input as 24-bit graded messages ``round(d * 2**12)``
and reads the output ``Sigma`` as ``m * 2**18``. See :mod:`lava_llm.models.sdnn_baseline.lava`.
"""
from __future__ import annotations

import json
import typing as ty
from pathlib import Path

import numpy as np
import torch

from lava_llm import validation as V

INPUT_STEP = 1.0 / 64          # input quantisation (6 fractional bits), as the N-DNS baseline
MSG_SCALE = 1 << 12            # graded spike = value * 2**12 (spike_exp 6 + weight scale 2**6)
OUT_SCALE = 1 << 18            # Sigma output state = value * 2**18
WEIGHT_SCALE = 64              # SLAYER sigma-delta neuron scale (8-bit weights, step 2/64)
N_LAYERS = 3                   # each netx Dense delays its output by one step
STATE_LIMIT = 1 << 23          # Loihi 2 neuron state: 24-bit signed


def _slayer():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lava.lib.dl import slayer
    return slayer


def neuron_params(threshold: float = 0.1, tau_grad: float = 0.1, scale_grad: float = 0.8
                  ) -> dict:
    """SLAYER sigma-delta ReLU neuron parameters of the N-DNS baseline."""
    import torch.nn.functional as F

    return {"threshold": threshold, "tau_grad": tau_grad, "scale_grad": scale_grad,
            "requires_grad": False, "shared_param": True, "activation": F.relu}


class SDNNDenoiser(torch.nn.Module):
    """Sigma-delta denoiser: ``bins -> hidden -> hidden -> bins`` lava-dl SLAYER blocks.

    ``forward(features)`` takes ``(batch, frames, bins)`` log-magnitude features and
    returns the mask ``m`` of the same shape (apply with :func:`lava_llm.audio.apply_mask`).
    """

    def __init__(self, n_bins: int = 129, hidden: int = 256, *, threshold: float = 0.1,
                 feat_mean: float = 0.0, feat_std: float = 1.0, sample_rate: int = 8000):
        super().__init__()
        V.check_int("n_bins", n_bins, 2, 4096)
        V.check_int("hidden", hidden, 1, 8192)
        V.check_positive("threshold", threshold)
        V.check_positive("feat_std", feat_std)
        slayer = _slayer()
        p = neuron_params(threshold)
        self.config = {"n_bins": int(n_bins), "hidden": int(hidden),
                       "threshold": float(threshold), "feat_mean": float(feat_mean),
                       "feat_std": float(feat_std), "sample_rate": int(sample_rate)}
        self.blocks = torch.nn.ModuleList([
            slayer.block.sigma_delta.Dense(p, n_bins, hidden, weight_norm=False,
                                           weight_scale=2),
            slayer.block.sigma_delta.Dense(p, hidden, hidden, weight_norm=False,
                                           weight_scale=2),
            slayer.block.sigma_delta.Output(p, hidden, n_bins, weight_norm=False),
        ])
        with torch.no_grad():  # SLAYER infers the neuron shapes (needed by the export)
            self(torch.zeros(1, 2, n_bins))

    def encode(self, feats):
        """``(batch, frames, bins)`` features -> ``(batch, bins, frames)`` delta-coded,
        quantised input (what the first block receives)."""
        slayer = _slayer()
        u = (feats - self.config["feat_mean"]) / self.config["feat_std"]
        u = slayer.utils.quantize(u.transpose(1, 2), step=INPUT_STEP)
        return torch.diff(u, dim=-1, prepend=torch.zeros_like(u[..., :1]))

    def forward(self, feats, *, count_log: bool = False, states: bool = False):
        """Mask ``(batch, frames, bins)``; with ``count_log`` also the input of every block,
        with ``states`` also every block's sigma state (``(batch, neurons, frames)``, real
        units: Lava holds ``sigma * 2**18`` in a 24-bit register)."""
        x = self.encode(feats)
        counts, sigmas, hooks = [], [], []
        if states:
            hooks = [b.neuron.sigma.register_forward_hook(
                lambda mod, inp, out: sigmas.append(out)) for b in self.blocks]
        try:
            for b in self.blocks:
                counts.append(x)
                x = b(x)
        finally:
            for h in hooks:
                h.remove()
        mask = x.transpose(1, 2)
        extra = ([counts] if count_log else []) + ([sigmas] if states else [])
        return (mask, *extra) if extra else mask

    def denoise_spec(self, spec):
        """Complex STFT ``(batch, frames, bins)`` -> masked STFT (torch)."""
        from lava_llm import audio

        return audio.apply_mask(spec, self(audio.features(spec).float()))

    def export_hdf5(self, path) -> Path:
        """Write the network as lava-dl netx HDF5 (three ``dense`` layers) and, beside
        it, ``<stem>.json`` with the host-side configuration."""
        import h5py

        path = Path(path)
        with h5py.File(path, "w") as h:
            layer = h.create_group("layer")
            for i, b in enumerate(self.blocks):
                b.export_hdf5(layer.create_group(f"{i}"))
        path.with_suffix(".json").write_text(json.dumps(self.config, indent=1) + "\n")
        return path


def load_hdf5(path):
    """Rebuild the SLAYER model from a netx HDF5 file and its ``.json`` beside it.

    The weights in the file are SLAYER's 8-bit integers (``w * 64``); they are loaded back
    exactly, so the torch model and the Lava network compute the same function.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SDNN checkpoint {str(path)!r} does not exist")
    cfg_path = path.with_suffix(".json")
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{str(cfg_path)!r} (the host-side config of {path.name}) "
                                f"does not exist")
    cfg = V.read_json_object(cfg_path)
    model = SDNNDenoiser(cfg["n_bins"], cfg["hidden"], threshold=cfg["threshold"],
                         feat_mean=cfg["feat_mean"], feat_std=cfg["feat_std"],
                         sample_rate=cfg["sample_rate"])
    with h5py.File(path, "r") as h:
        for i, b in enumerate(model.blocks):
            w = np.asarray(h[f"layer/{i}/weight"], dtype=np.float64)
            if w.shape != tuple(b.synapse.weight.shape[:2]):
                raise ValueError(f"{path}: layer {i} weight has shape {w.shape}, expected "
                                 f"{tuple(b.synapse.weight.shape[:2])} from {cfg_path.name}")
            with torch.no_grad():
                b.synapse.weight.copy_(torch.tensor(w / WEIGHT_SCALE, dtype=torch.float32)
                                       .reshape(b.synapse.weight.shape))
    model.eval()
    return model


def parameter_count(model) -> int:
    return int(sum(b.synapse.weight.numel() for b in model.blocks))


def count_ops(model, feats) -> dict:
    """Operation counts per step of the sigma-delta network on ``feats`` (one clip).

    ``syn_ops``: synaptic operations = sum over layers of (non-zero input messages x fan-out),
    mean per step; ``neuron_ops``: neuron updates per step (every neuron of the two hidden
    layers and the output layer updates every step); ``input_density``: fraction of non-zero
    messages into each layer.
    """
    with torch.no_grad():
        f = torch.as_tensor(np.asarray(feats), dtype=torch.float32)[None]
        _, inputs = model(f, count_log=True)
    syn, dens = 0.0, []
    for x, b in zip(inputs, model.blocks):
        nz = (x != 0).float()
        fan_out = b.synapse.weight.shape[0]
        syn += float(nz.sum(1).mean()) * fan_out
        dens.append(float(nz.mean()))
    neurons = sum(int(b.synapse.weight.shape[0]) for b in model.blocks)
    return {"syn_ops": syn, "neuron_ops": float(neurons), "input_density": dens}


def state_range(model, feats) -> list[float]:
    """Max |sigma state| of each layer on ``feats`` (one clip) as a fraction of Loihi's 24-bit
    range (``max |sigma| * 2**18 / 2**23``); above 1.0 the state would overflow on chip (the
    Python sim-fixed models compute in wider integers and do not saturate)."""
    with torch.no_grad():
        f = torch.as_tensor(np.asarray(feats), dtype=torch.float32)[None]
        _, sigmas = model(f, states=True)
    return [float(s.abs().max()) * OUT_SCALE / STATE_LIMIT for s in sigmas]


def state_penalty(sigmas, limit: float) -> "torch.Tensor":
    """Training penalty keeping the sigma states inside ``limit`` (real units): per sample,
    the sum over neurons and frames of ``relu(|sigma| - limit)**2``, summed over layers."""
    return sum((torch.relu(s.abs() - limit) ** 2).sum(dim=(1, 2)).mean() for s in sigmas)


def denoise_torch(model, wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """Denoise one waveform with the SLAYER model (float reference of the Lava run)."""
    from lava_llm import audio

    if sample_rate != model.config["sample_rate"]:
        raise ValueError(f"sample_rate={sample_rate} but the model was trained at "
                         f"{model.config['sample_rate']} Hz")
    wave = audio.check_audio(wave, "wave")
    spec = audio.stft(torch.tensor(wave, dtype=torch.float32), sample_rate)
    with torch.no_grad():
        out = model.denoise_spec(spec[None])[0]
    return audio.istft(out, len(wave), sample_rate).numpy().astype(np.float64)


def describe(model) -> dict[str, ty.Any]:
    return {**model.config, "params": parameter_count(model), "weight_bits": 8}
