"""Wrong answers to the exercises of 01_challenges; each must lose points.

MISTAKES maps a short name to {"function", "why", "source"}: the function it
replaces, the misconception in one line, and a complete wrong definition.
"""

MISTAKES = {
    # --- numerical_gradient -------------------------------------------------
    "numerical_gradient_one_sided": {
        "function": "numerical_gradient",
        "why": "forward difference (f(θ+h e_i) − f(θ)) / h: error O(h) instead of O(h²)",
        "source": """
import numpy as np


def numerical_gradient(f, theta, h=1e-5):
    theta = np.asarray(theta, dtype=float)
    grad = np.empty_like(theta)
    f0 = f(theta)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[index] = h
        grad[index] = (f(theta + step) - f0) / h
    return grad
""",
    },
    "numerical_gradient_not_halved": {
        "function": "numerical_gradient",
        "why": "central difference divided by h instead of 2h: twice the gradient",
        "source": """
import numpy as np


def numerical_gradient(f, theta, h=1e-5):
    theta = np.asarray(theta, dtype=float)
    grad = np.empty_like(theta)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[index] = h
        grad[index] = (f(theta + step) - f(theta - step)) / h
    return grad
""",
    },
    "numerical_gradient_first_axis_only": {
        "function": "numerical_gradient",
        "why": "loops over len(theta), so for a matrix e_i is a whole row and the result has the wrong shape",
        "source": """
import numpy as np


def numerical_gradient(f, theta, h=1e-5):
    theta = np.asarray(theta, dtype=float)
    grad = np.zeros(len(theta))
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = h
        grad[i] = (f(theta + step) - f(theta - step)) / (2 * h)
    return grad
""",
    },
    "numerical_gradient_mutates_theta": {
        "function": "numerical_gradient",
        "why": "perturbs theta in place and never restores it",
        "source": """
import numpy as np


def numerical_gradient(f, theta, h=1e-5):
    grad = np.zeros_like(theta, dtype=float)
    for index in np.ndindex(theta.shape):
        theta[index] += h
        plus = f(theta)
        theta[index] -= 2 * h
        minus = f(theta)
        grad[index] = (plus - minus) / (2 * h)
    return grad
""",
    },
    # --- classify_critical_point ---------------------------------------------
    "classify_by_determinant": {
        "function": "classify_critical_point",
        "why": "uses the 2-D determinant test (sign of det H, then of the trace), wrong beyond two dimensions",
        "source": """
import numpy as np


def classify_critical_point(H, tol=1e-8):
    det = np.linalg.det(H)
    if det < -tol:
        return "saddle"
    if det > tol:
        return "minimum" if np.trace(H) > 0 else "maximum"
    return "degenerate"
""",
    },
    "classify_by_diagonal": {
        "function": "classify_critical_point",
        "why": "looks at the signs of the diagonal entries instead of the eigenvalues",
        "source": """
import numpy as np


def classify_critical_point(H, tol=1e-8):
    values = np.diag(H)
    if np.any(values > tol) and np.any(values < -tol):
        return "saddle"
    if np.all(values > tol):
        return "minimum"
    if np.all(values < -tol):
        return "maximum"
    return "degenerate"
""",
    },
    "classify_degenerate_first": {
        "function": "classify_critical_point",
        "why": "calls any zero eigenvalue degenerate before checking for a saddle, so (1, -1, 0) is not a saddle",
        "source": """
import numpy as np


def classify_critical_point(H, tol=1e-8):
    values = np.linalg.eigvalsh(H)
    if np.any(np.abs(values) <= tol):
        return "degenerate"
    if np.all(values > 0):
        return "minimum"
    if np.all(values < 0):
        return "maximum"
    return "saddle"
""",
    },
    "classify_ignores_tol": {
        "function": "classify_critical_point",
        "why": "compares the eigenvalues with 0 instead of ±tol, so rounding noise decides",
        "source": """
import numpy as np


def classify_critical_point(H, tol=1e-8):
    values = np.linalg.eigvalsh(H)
    if np.any(values > 0) and np.any(values < 0):
        return "saddle"
    if np.all(values > 0):
        return "minimum"
    if np.all(values < 0):
        return "maximum"
    return "degenerate"
""",
    },
    "classify_fixed_tol": {
        "function": "classify_critical_point",
        "why": "hard-codes the threshold 1e-8 instead of using the tol argument",
        "source": """
import numpy as np


def classify_critical_point(H, tol=1e-8):
    values = np.linalg.eigvalsh(H)
    if np.any(values > 1e-8) and np.any(values < -1e-8):
        return "saddle"
    if np.all(values > 1e-8):
        return "minimum"
    if np.all(values < -1e-8):
        return "maximum"
    return "degenerate"
""",
    },
    # --- minibatches ---------------------------------------------------------
    "minibatches_not_shuffled": {
        "function": "minibatches",
        "why": "cuts range(n) in order: batches are not shuffled",
        "source": """
import numpy as np


def minibatches(n, batch_size, rng):
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    },
    "minibatches_drop_last": {
        "function": "minibatches",
        "why": "drops the last partial batch, so some examples are never used",
        "source": """
import numpy as np


def minibatches(n, batch_size, rng):
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
""",
    },
    "minibatches_with_replacement": {
        "function": "minibatches",
        "why": "samples indices with replacement: some examples repeat, others are skipped",
        "source": """
import numpy as np


def minibatches(n, batch_size, rng):
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    order = rng.integers(0, n, size=n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    },
    "minibatches_global_random_state": {
        "function": "minibatches",
        "why": "draws the permutation from np.random's global state instead of rng",
        "source": """
import numpy as np


def minibatches(n, batch_size, rng):
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    order = np.random.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    },
    "minibatches_shuffle_batch_order": {
        "function": "minibatches",
        "why": "shuffles the order of fixed consecutive batches, not the examples",
        "source": """
import numpy as np


def minibatches(n, batch_size, rng):
    if n < 1 or batch_size < 1:
        raise ValueError("n and batch_size must be >= 1")
    batches = [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    return [batches[j] for j in rng.permutation(len(batches))]
""",
    },
    "minibatches_no_validation": {
        "function": "minibatches",
        "why": "does not raise ValueError for n < 1 (returns an empty list)",
        "source": """
import numpy as np


def minibatches(n, batch_size, rng):
    order = rng.permutation(max(n, 0))
    return [order[i:i + batch_size] for i in range(0, n, max(batch_size, 1))]
""",
    },
    # --- sgd_step ------------------------------------------------------------
    "sgd_step_ascent": {
        "function": "sgd_step",
        "why": "adds the gradient: θ + lr·g climbs the loss",
        "source": """
def sgd_step(theta, g, lr):
    return theta + lr * g
""",
    },
    "sgd_step_in_place": {
        "function": "sgd_step",
        "why": "updates theta in place (theta -= lr * g) and returns it",
        "source": """
def sgd_step(theta, g, lr):
    theta -= lr * g
    return theta
""",
    },
    # --- deep_linear_grad ----------------------------------------------------
    "deep_linear_grad_no_sigmoid_slope": {
        "function": "deep_linear_grad",
        "why": "the slide's formula: forgets the sigmoid's derivative σ'(s)",
        "source": """
import numpy as np


def deep_linear_grad(a, b, n, x):
    return np.array([n * a ** (n - 1) * x[0], n * b ** (n - 1) * x[1]], dtype=float)
""",
    },
    "deep_linear_grad_wrong_power": {
        "function": "deep_linear_grad",
        "why": "differentiates aⁿ as n·aⁿ instead of n·a^(n-1)",
        "source": """
import numpy as np


def deep_linear_grad(a, b, n, x):
    s = a**n * x[0] + b**n * x[1]
    sigma = 1 / (1 + np.exp(-s))
    return sigma * (1 - sigma) * np.array([n * a**n * x[0], n * b**n * x[1]], dtype=float)
""",
    },
    "deep_linear_grad_unstable_slope": {
        "function": "deep_linear_grad",
        "why": "computes σ'(s) as e^(-s)/(1+e^(-s))², which is inf/inf = nan for very negative s",
        "source": """
import numpy as np


def deep_linear_grad(a, b, n, x):
    s = a**n * x[0] + b**n * x[1]
    slope = np.exp(-s) / (1 + np.exp(-s)) ** 2
    return slope * np.array([n * a ** (n - 1) * x[0], n * b ** (n - 1) * x[1]], dtype=float)
""",
    },
    "deep_linear_grad_tuple": {
        "function": "deep_linear_grad",
        "why": "returns a tuple (dy/da, dy/db) instead of an array",
        "source": """
import numpy as np


def deep_linear_grad(a, b, n, x):
    s = a**n * x[0] + b**n * x[1]
    decay = np.exp(-abs(s))
    slope = decay / (1 + decay) ** 2
    return (slope * n * a ** (n - 1) * x[0], slope * n * b ** (n - 1) * x[1])
""",
    },
    # --- clip_gradient_norm --------------------------------------------------
    "clip_each_component": {
        "function": "clip_gradient_norm",
        "why": "clips each component to [-threshold, threshold], which changes the direction",
        "source": """
import numpy as np


def clip_gradient_norm(g, threshold):
    return np.clip(g, -threshold, threshold)
""",
    },
    "clip_always_rescales": {
        "function": "clip_gradient_norm",
        "why": "always rescales g to length threshold, even when it is shorter (and 0/0 for g = 0)",
        "source": """
import numpy as np


def clip_gradient_norm(g, threshold):
    return threshold * g / np.linalg.norm(g)
""",
    },
    "clip_matrix_two_norm": {
        "function": "clip_gradient_norm",
        "why": "np.linalg.norm(g, 2) is the largest singular value of a matrix, not the norm of all entries",
        "source": """
import numpy as np


def clip_gradient_norm(g, threshold):
    norm = np.linalg.norm(g, 2)
    if norm <= threshold:
        return g.copy()
    return g * (threshold / norm)
""",
    },
    "clip_in_place": {
        "function": "clip_gradient_norm",
        "why": "rescales g in place (g *= ...) and returns a copy: the caller's gradient is changed",
        "source": """
import numpy as np


def clip_gradient_norm(g, threshold):
    norm = np.sqrt(np.sum(g**2))
    if norm > threshold:
        g *= threshold / norm
    return g.copy()
""",
    },
    "clip_returns_input": {
        "function": "clip_gradient_norm",
        "why": "returns g itself when no clipping is needed",
        "source": """
import numpy as np


def clip_gradient_norm(g, threshold):
    norm = np.sqrt(np.sum(g**2))
    if norm <= threshold:
        return g
    return g * (threshold / norm)
""",
    },
}
