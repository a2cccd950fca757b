"""What the chapters claim, recomputed: each statement a reviewer found wrong once is pinned here.

Each test computes the claim independently of the notebooks' code and checks that the text says
what the computation shows.
"""

import numpy as np
import pytest

from autograder import notebooks as nbs


def markdown(slug):
    return "\n".join(c.source for c in nbs.read(nbs.source_path(slug)).cells if c.cell_type == "markdown")


def section(slug, heading):
    text = markdown(slug)
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end > 0 else None]


# ---- chapter 1, section 7: a network's logistic loss has critical points, a linear score's has none


def logistic_loss_and_grad(params, X, y):
    """One hidden tanh layer, s(x) = v . tanh(W x + c) + b, mean logistic loss on labels y in {-1, +1}."""
    W, c, v, b = params
    Z = X @ W.T + c
    H = np.tanh(Z)
    s = H @ v + b
    margin = y * s
    loss = np.mean(np.logaddexp(0.0, -margin))
    ds = -y / (1.0 + np.exp(margin)) / len(y)  # d loss / d s_i = -y_i sigma(-y_i s_i) / N
    dZ = np.outer(ds, v) * (1.0 - H**2)
    return loss, (dZ.T @ X, dZ.sum(axis=0), H.T @ ds, ds.sum())


def central_differences(params, X, y, h=1e-6):
    grads = []
    for i, p in enumerate(params):
        p = np.asarray(p, dtype=float)
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            for sign in (1, -1):
                q = p.copy()
                q[idx] += sign * h
                moved = list(params)
                moved[i] = q if q.shape else float(q)
                g[idx] += sign * logistic_loss_and_grad(moved, X, y)[0] / (2 * h)
        grads.append(g)
    return grads


def separable_data(n_pos=30, n_neg=10, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(2.0, 0.5, (n_pos, 2)), rng.normal(-2.0, 0.5, (n_neg, 2))])
    return X, np.r_[np.ones(n_pos), -np.ones(n_neg)]


def test_a_tanh_network_has_a_critical_point_on_separable_data():
    X, y = separable_data()
    hidden = 4
    zero = [np.zeros((hidden, 2)), np.zeros(hidden), np.zeros(hidden)]
    b = np.log(30 / 10)  # log(n+ / n-)
    loss, grads = logistic_loss_and_grad([*zero, b], X, y)
    assert max(np.max(np.abs(g)) for g in grads) < 1e-15, "the gradient at W = c = v = 0, b = log(n+/n-) is not 0"
    for g, fd in zip(grads, central_differences([*zero, b], X, y), strict=True):
        np.testing.assert_allclose(g, fd, atol=1e-8)
    entropy = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    np.testing.assert_allclose(loss, entropy, rtol=1e-12)  # the loss there: the labels' entropy, far above 0
    # The data are separable and the point is no minimum: a linear score (hidden layer bypassed) gets lower.
    theta = np.array([1.0, 1.0])
    assert np.mean(np.logaddexp(0.0, -y * (X @ (10 * theta)))) < loss / 100
    # Any other bias is not critical: the statement is about this point.
    assert abs(logistic_loss_and_grad([*zero, 0.0], X, y)[1][3]) > 0.1


def test_a_linear_score_on_separable_data_has_no_critical_point():
    X, y = separable_data()
    rng = np.random.default_rng(1)
    for _ in range(200):
        theta = rng.normal(0, 3, 2)
        s = X @ theta
        grad = X.T @ (-y / (1.0 + np.exp(y * s))) / len(y)
        assert np.linalg.norm(grad) > 0  # zero nowhere (it only tends to 0 along the separating direction)
    # along theta0 = (1, 1), which separates the data, the gradient norm shrinks but stays positive
    norms = [np.linalg.norm(X.T @ (-y / (1.0 + np.exp(y * (X @ (c * np.ones(2)))))) / len(y)) for c in (1, 4, 16)]
    assert norms[0] > norms[1] > norms[2] > 0


def test_chapter_1_says_which_model_has_no_critical_points():
    text = section("01_challenges", "## 7. No minimum at all")
    assert "No critical points at all" not in markdown("01_challenges")
    assert r"b = \log(n_+/n_-)" in text and "linear score" in text
    # What the computation above gives in double precision: 2e-17 to 1e-16 depending on the BLAS path,
    # so the text names the bound the test checks, not one machine's value.
    assert "rounding error, below $10^{-15}$" in text and "10^{-17}" not in text
    summary = section("01_challenges", "## Summary")
    assert "no minimum at all" in summary and r"\log(n_+/n_-)" in summary


# ---- chapter 4, section 2: the backward variance formula is exact only for a linear stack


def backward_variance_ratio(activation, fan_in, fan_out, draws, seed=0):
    """E[(dL/dx_i)^2] / (fan_out Var[w] E[(dL/dz)^2]) for one layer z = x W, upstream noise through f'(z)."""
    rng = np.random.default_rng(seed)
    slope = {"linear": lambda z: np.ones_like(z), "tanh": lambda z: 1.0 - np.tanh(z) ** 2}[activation]
    x = np.ones(fan_in)
    num = den = 0.0
    for _ in range(draws):
        W = rng.normal(0.0, 1.0, (fan_in, fan_out))
        d_z = rng.standard_normal(fan_out) * slope(x @ W)
        num += np.mean((W @ d_z) ** 2)
        den += fan_out * 1.0 * np.mean(d_z**2)
    return num / den


def test_the_backward_variance_formula_is_exact_for_a_linear_layer_only():
    # Few inputs make each weight a large part of its unit's z, so the dependence shows; 20,000 draws
    # give the linear ratio a standard error of about 0.01.
    linear = backward_variance_ratio("linear", 2, 8, 20000)
    tanh = backward_variance_ratio("tanh", 2, 8, 20000)
    assert abs(linear - 1) < 0.05, f"the linear layer's ratio is {linear:.3f}, the formula says 1"
    assert tanh < 0.85, f"the tanh layer's ratio is {tanh:.3f}: the formula would hold for it too"
    text = markdown("04_initialization")
    assert "holds for a linear stack alone" in text and "only approximately" in text
    assert "where it is random noise" not in text


@pytest.mark.parametrize(
    ("slug", "claim"),
    [
        ("04_initialization", "about 3.17 with He"),
        ("04_initialization", "reported a related effect"),
        ("03_adaptive_rates", r"$\rho_2^{1000} = 0.37$"),
        ("03_adaptive_rates", r"Momentum ties Adam at" + "\n  " + r"$\kappa = 100$"),
        ("02_momentum", "$b_1 = g_0$, undampened"),
        ("05_batch_norm", r"only in the limit $\delta \to 0$"),
        ("01_challenges", r"with $1 \le \tau < 100$"),
    ],
)
def test_the_text_states_the_recomputed_claim(slug, claim):
    assert claim in markdown(slug)


def test_the_numbers_the_text_states():
    assert round(0.999**1000, 2) == 0.37 and round(1 / np.sqrt(1 - 0.999**1000), 2) == 1.26
    assert int(np.ceil(np.log(0.01) / np.log(0.9))) == 44
    assert round(np.log(0.01) / np.log(0.999), -2) == 4600
