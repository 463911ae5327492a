"""`grokcore.landscape` (li-sakib §3.3's loss slices) and `RunConfig.keep_params`: filter
normalization, a quadratic bowl's known range, the slice's centre is the run's own training
loss, and kept parameters round-trip through the cache without touching existing keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grokcore.cache import RunCache
from grokcore.config import EmbedMLP, ModularTask, RunConfig
from grokcore.history import History
from grokcore.landscape import (
    filter_normalize,
    grid_slice,
    loss_range,
    loss_slice,
    random_directions,
)
from grokcore.runs import run

# A config whose key was recorded before `keep_params` existed: the default must not move it.
OLD = RunConfig(
    task=ModularTask(op="x+y", p=31, train_frac=0.5), model=EmbedMLP(), steps=200, seed=3
)
OLD_KEY = "a25b740ff4efc7228c626352"


def tiny(**kw) -> RunConfig:
    base = dict(task=ModularTask(op="x+y", p=7, train_frac=0.5), model=EmbedMLP(8, 16), steps=20)
    return RunConfig(**{**base, **kw})


def test_filter_normalization_gives_each_row_its_weights_norm():
    g = torch.Generator().manual_seed(0)
    w = {"w": torch.randn(5, 3, generator=g) * torch.arange(1, 6.0)[:, None], "b": torch.ones(5)}
    d = {"w": torch.randn(5, 3, generator=g) * 100, "b": torch.randn(5, generator=g)}
    out = filter_normalize(d, w)
    assert torch.allclose(out["w"].norm(dim=1), w["w"].norm(dim=1), rtol=1e-5)
    # the direction within each row is kept
    cos = torch.nn.functional.cosine_similarity(out["w"], d["w"], dim=1)
    assert torch.allclose(cos, torch.ones(5), atol=1e-6)
    assert torch.equal(out["b"], torch.zeros(5))  # `ignore='biasbn'`
    assert torch.equal(filter_normalize(d, w, bias_1d="copy")["b"], w["b"])
    with pytest.raises(ValueError, match="bias_1d"):
        filter_normalize(d, w, bias_1d="keep")
    with pytest.raises(ValueError, match="shape"):
        filter_normalize({"w": torch.ones(3, 5), "b": d["b"]}, w)


def test_random_directions_are_seeded():
    w = {"w": torch.randn(4, 4)}
    a, b = random_directions(w, seed=1), random_directions(w, seed=1)
    assert torch.equal(a[0]["w"], b[0]["w"]) and not torch.equal(a[0]["w"], a[1]["w"])
    assert not torch.equal(a[0]["w"], random_directions(w, seed=2)[0]["w"])


def test_a_quadratic_bowl_has_its_analytic_range():
    # f(θ) = ½‖θ‖², θ ⟂ d1 ⟂ d2 unit vectors: f = ½(‖θ‖² + a² + b²) over [−s, s]², range s²
    theta = torch.tensor([3.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    d1 = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    d2 = torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    bowl = lambda rows: (0.5 * rows.pow(2).sum(1)).numpy()  # noqa: E731
    for span in (0.5, 1.0, 2.0):
        s = grid_slice(bowl, theta, d1, d2, points=21, span=span, chunk=7)
        assert s.loss.shape == (21, 21)
        assert s.range == pytest.approx(span**2, rel=1e-12)
        assert s.loss[10, 10] == pytest.approx(4.5)  # the centre is θ itself
        assert s.loss[20, 10] == pytest.approx(4.5 + span**2 / 2)  # a runs along axis 0
    with pytest.raises(ValueError, match="non-finite"):
        loss_range(np.array([[0.0, np.nan]]))


def test_keep_params_leaves_existing_cache_keys_unchanged(monkeypatch):
    from grokcore import config
    from grokcore.stopping import StopRule

    monkeypatch.setattr(config, "CORE_VERSION", "3")  # the core the key was recorded under
    assert OLD.key() == OLD_KEY
    assert OLD.replace(keep_params=True).key() == OLD_KEY
    assert OLD.replace(stop=(StopRule(),)).key() == OLD_KEY  # nor does a stopping rule
    assert "keep_params" not in OLD.to_dict()
    with pytest.raises(ValueError, match="keep_params"):
        tiny(keep_params="yes")


def test_keep_params_round_trips_through_the_cache(tmp_path):
    cache = RunCache(tmp_path)
    plain, keep = tiny(), tiny(keep_params=True)
    (h0,) = run([plain], cache, progress=False)
    assert h0.final_params is None
    with pytest.raises(ValueError, match="keep_params=True"):
        h0.unflatten()
    # the cached run has no parameters: a config that keeps them retrains it, and stores them
    (h1,) = run([keep], cache, progress=False)
    assert h1.final_params is not None and h1.final_params.dtype == np.float32
    np.testing.assert_array_equal(h1.train_loss, h0.train_loss)  # the same run
    again = cache.load(keep.key(), expect=keep)
    assert again is not None and again.param_shapes == h1.param_shapes
    np.testing.assert_array_equal(again.final_params, h1.final_params)
    # both configs are now served from the one entry, with parameters
    h2, h3 = run([plain, keep], cache, progress=False)
    assert h2.final_params is not None  # the same entry serves both
    np.testing.assert_array_equal(h3.final_params, h1.final_params)
    params = again.unflatten()
    assert list(params) == list(again.param_shapes)
    assert sum(p.size for p in params.values()) == again.final_params.size
    with pytest.raises(ValueError, match="param_shapes"):
        History(**{**_fields(again), "final_params": again.final_params[:-1]})


def _fields(h: History) -> dict:
    import dataclasses

    return {f.name: getattr(h, f.name) for f in dataclasses.fields(h)}


def test_the_slice_centre_is_the_runs_own_training_loss(tmp_path):
    cfg = tiny(keep_params=True, init_scale=2.0)
    (h,) = run([cfg], RunCache(tmp_path), progress=False)
    s = loss_slice(cfg, h, points=5, chunk=4)
    assert s.loss.shape == (5, 5) and np.all(np.isfinite(s.loss))
    assert s.loss[2, 2] == pytest.approx(h.train_loss[-1], rel=1e-5)
    assert s.range > 0
    with pytest.raises(ValueError, match="keep_params=True"):
        loss_slice(cfg, run([tiny()], None, use_cache=False, progress=False)[0])
