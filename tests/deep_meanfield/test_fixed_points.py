"""Fixed points q*, c* against closed forms, the fixed-point property, and the c* < 1 effect of dropout."""

import numpy as np
import pytest

from dropout_theory import DivergenceError
from dropout_theory.deep_meanfield import c_map, fixed_point_c, fixed_point_q, pair_trajectory, q_map, q_trajectory

BOUNDED = ("tanh", "hard_tanh", "erf")


@pytest.mark.parametrize("s,b,r", [(0.5, 0.1, 0.8), (0.3, 0.05, 0.5), (0.9, 1.0, 1.0)])
def test_linear_closed_forms(s, b, r):
    assert np.isclose(fixed_point_q("linear", s, b, r), b / (1 - s / r), rtol=1e-12)
    assert np.isclose(fixed_point_c("linear", s, b, r), (1 - s / r) / (1 - s), rtol=1e-10)


def test_relu_closed_form_vectorized():
    s = np.array([0.5, 1.0, 1.5])
    q = fixed_point_q("relu", s[:, None], 0.2, np.array([0.8, 1.0]))
    assert q.shape == (3, 2)
    assert np.allclose(q, 0.2 / (1 - s[:, None] / (2 * np.array([0.8, 1.0]))), rtol=1e-12)


@pytest.mark.parametrize("act", BOUNDED)
def test_fixed_point_property_on_a_grid(act):
    s = np.linspace(0.5, 4.0, 5)[:, None]
    b = np.array([0.0, 0.05, 0.5])[None, :]
    q = fixed_point_q(act, s, b, 0.7)
    assert np.allclose(q_map(act, q, s, b, 0.7), q, rtol=1e-10, atol=1e-13)
    # scalar calls agree with the vectorized grid
    assert np.isclose(fixed_point_q(act, 2.25, 0.05, 0.7), q[2, 1], rtol=1e-13)


@pytest.mark.parametrize("act", (*BOUNDED, "relu", "linear"))
@pytest.mark.parametrize("r", [0.5, 0.9])
def test_dropout_breaks_c_equals_one(act, r):
    s = 0.8 * r if act == "linear" else (1.5 * r if act == "relu" else 1.2)
    c = fixed_point_c(act, s, 0.1, r)
    assert 0.0 <= c < 1.0 - 1e-3
    assert np.isclose(c_map(act, c, s, 0.1, r), c, atol=1e-10)
    assert c_map(act, 1.0, s, 0.1, r) < 1.0


def test_no_dropout_ordered_phase_has_c_star_one_and_chaotic_below_one():
    assert fixed_point_c("tanh", 1.2, 0.05, 1.0) == 1.0
    c = fixed_point_c("tanh", 3.0, 0.05, 1.0)
    assert 0.0 < c < 0.99 and np.isclose(c_map("tanh", c, 3.0, 0.05, 1.0), c, atol=1e-10)


def test_zero_bias_ordered_has_trivial_q_and_undefined_c():
    assert fixed_point_q("tanh", 0.5, 0.0, 1.0) == 0.0
    assert fixed_point_q("tanh", 2.0, 0.0, 1.0) > 0.1
    with pytest.raises(ValueError, match="q\\* = 0"):
        fixed_point_c("tanh", 0.5, 0.0, 1.0)


@pytest.mark.parametrize(
    "args,match",
    [
        (("linear", 0.9, 0.1, 0.8), "no finite fixed point"),
        (("relu", 2.0, 0.1, 1.0), "no finite fixed point"),
        (("tanh", 1.0, 0.1, 0.0), "keep_prob"),
        (("tanh", 1.0, 0.1, 1.5), "keep_prob"),
        (("tanh", -1.0, 0.1, 0.5), "sigma_w2"),
        (("tanh", 1.0, -0.1, 0.5), "sigma_b2"),
        (("tanh", np.nan, 0.1, 0.5), "sigma_w2"),
        (("swish", 1.0, 0.1, 0.5), "activation"),
    ],
)
def test_bad_input_raises_clear_error(args, match):
    with pytest.raises(ValueError, match=match):
        fixed_point_q(*args)


def test_diverging_length_map_names_the_first_layer():
    """Linear map q ↦ (σ_w²/ρ) q + σ_b² with slope 1e10: the first layer whose length exceeds 1e150 (found by
    iterating the closed form) is the one reported, with the unit "layer"."""
    s, b, r, q1 = 1e10, 0.1, 1.0, 2.0
    q, layer = q1, 1
    while q <= 1e150:
        q, layer = s / r * q + b, layer + 1
    with pytest.raises(DivergenceError) as info:
        q_trajectory("linear", q1, s, b, r, depth=40)
    assert info.value.step == layer and info.value.unit == "layer" and info.value.quantity == "q"
    with pytest.raises(DivergenceError, match="at layer"):
        pair_trajectory("linear", q1, q1, 0.5, s, b, r, depth=40)
    assert q_trajectory("linear", q1, 0.5, b, r, depth=5).shape == (5,)
