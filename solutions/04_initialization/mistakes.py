"""Plausible wrong answers for chapter 04_initialization; each must lose points.

MISTAKES maps a short name to {"function", "why", "source"}: the function it replaces, what is
wrong in one line, and a complete wrong definition (it imports numpy itself).
"""

MISTAKES = {
    # ---- lecun_normal ---------------------------------------------------------------------
    "lecun_std_as_variance": {
        "function": "lecun_normal",
        "why": "passes the variance 1/fan_in as numpy's scale, which is the standard deviation",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, 1.0 / fan_in, size=(fan_in, fan_out))
''',
    },
    "lecun_fan_out": {
        "function": "lecun_normal",
        "why": "scales by fan_out instead of fan_in",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(1.0 / fan_out), size=(fan_in, fan_out))
''',
    },
    "lecun_scale_as_loc": {
        "function": "lecun_normal",
        "why": "passes the standard deviation positionally, where rng.normal expects the mean",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    return rng.normal(np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
''',
    },
    "lecun_uniform": {
        "function": "lecun_normal",
        "why": "draws a uniform with the right variance instead of a normal",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    a = np.sqrt(3.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))
''',
    },
    "lecun_torch_layout": {
        "function": "lecun_normal",
        "why": "returns PyTorch's (fan_out, fan_in) layout instead of (fan_in, fan_out)",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_out, fan_in))
''',
    },
    "lecun_global_random": {
        "function": "lecun_normal",
        "why": "draws from np.random's global state instead of rng",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    return np.random.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
''',
    },
    "lecun_fixed_seed": {
        "function": "lecun_normal",
        "why": "makes its own generator with a fixed seed, ignoring rng",
        "source": '''
import numpy as np

def lecun_normal(fan_in, fan_out, rng):
    rng = np.random.default_rng(0)
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
''',
    },
    # ---- he_normal ------------------------------------------------------------------------
    "he_std_as_variance": {
        "function": "he_normal",
        "why": "passes the variance 2/fan_in as numpy's scale, which is the standard deviation",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, 2.0 / fan_in, size=(fan_in, fan_out))
''',
    },
    "he_fan_out": {
        "function": "he_normal",
        "why": "scales by fan_out instead of fan_in",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_out), size=(fan_in, fan_out))
''',
    },
    "he_without_factor_two": {
        "function": "he_normal",
        "why": "uses LeCun's variance 1/fan_in, forgetting that ReLU halves the signal",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))
''',
    },
    "he_sqrt2_over_fan_in": {
        "function": "he_normal",
        "why": "uses sqrt(2)/fan_in as the standard deviation instead of sqrt(2/fan_in)",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0) / fan_in, size=(fan_in, fan_out))
''',
    },
    "he_scale_as_loc": {
        "function": "he_normal",
        "why": "passes the standard deviation positionally, where rng.normal expects the mean",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return rng.normal(np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
''',
    },
    "he_uniform": {
        "function": "he_normal",
        "why": "draws He uniform U(+-sqrt(6/fan_in)) (right variance) instead of a normal",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))
''',
    },
    "he_torch_layout": {
        "function": "he_normal",
        "why": "returns PyTorch's (fan_out, fan_in) layout instead of (fan_in, fan_out)",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
''',
    },
    "he_global_random": {
        "function": "he_normal",
        "why": "draws from np.random's global state instead of rng",
        "source": '''
import numpy as np

def he_normal(fan_in, fan_out, rng):
    return np.sqrt(2.0 / fan_in) * np.random.standard_normal((fan_in, fan_out))
''',
    },
    # ---- glorot_uniform -------------------------------------------------------------------
    "glorot_fan_in_only": {
        "function": "glorot_uniform",
        "why": "computes Glorot's bound from fan_in alone, sqrt(6/fan_in)",
        "source": '''
import numpy as np

def glorot_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))
''',
    },
    "glorot_normal": {
        "function": "glorot_uniform",
        "why": "draws a normal with Glorot's variance 2/(fan_in+fan_out) where a uniform is asked for",
        "source": '''
import numpy as np

def glorot_uniform(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
''',
    },
    "glorot_not_centred": {
        "function": "glorot_uniform",
        "why": "scales rng.random() (uniform on [0, 1)) by the bound without centring it",
        "source": '''
import numpy as np

def glorot_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return a * rng.random((fan_in, fan_out))
''',
    },
    "glorot_std_as_bound": {
        "function": "glorot_uniform",
        "why": "uses the standard deviation sqrt(2/(fan_in+fan_out)) as the bound",
        "source": '''
import numpy as np

def glorot_uniform(fan_in, fan_out, rng):
    a = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))
''',
    },
    "glorot_torch_layout": {
        "function": "glorot_uniform",
        "why": "returns PyTorch's (fan_out, fan_in) layout instead of (fan_in, fan_out)",
        "source": '''
import numpy as np

def glorot_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_out, fan_in))
''',
    },
    "glorot_global_random": {
        "function": "glorot_uniform",
        "why": "draws from np.random's global state instead of rng",
        "source": '''
import numpy as np

def glorot_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-a, a, size=(fan_in, fan_out))
''',
    },
    # ---- sparse_init ----------------------------------------------------------------------
    "sparse_per_row": {
        "function": "sparse_init",
        "why": "puts k nonzeros in every row (input) instead of every column (output unit)",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_out:
        raise ValueError("k must be an integer in 1..fan_out")
    W = np.zeros((fan_in, fan_out))
    for i in range(fan_in):
        cols = rng.choice(fan_out, size=k, replace=False)
        W[i, cols] = rng.standard_normal(k)
    return W
''',
    },
    "sparse_with_replacement": {
        "function": "sparse_init",
        "why": "draws the rows with replacement, so repeated rows leave some columns with fewer than k nonzeros",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        rows = rng.integers(0, fan_in, size=k)
        W[rows, j] = rng.standard_normal(k)
    return W
''',
    },
    "sparse_first_k_rows": {
        "function": "sparse_init",
        "why": "always uses the first k rows instead of choosing them at random",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_in, fan_out))
    W[:k, :] = rng.standard_normal((k, fan_out))
    return W
''',
    },
    "sparse_shared_rows": {
        "function": "sparse_init",
        "why": "chooses one set of k rows and reuses it for every column",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_in, fan_out))
    rows = rng.choice(fan_in, size=k, replace=False)
    W[rows, :] = rng.standard_normal((k, fan_out))
    return W
''',
    },
    "sparse_scaled_values": {
        "function": "sparse_init",
        "why": "draws the nonzeros from N(0, 1/k) instead of N(0, 1)",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        rows = rng.choice(fan_in, size=k, replace=False)
        W[rows, j] = rng.normal(0.0, np.sqrt(1.0 / k), size=k)
    return W
''',
    },
    "sparse_ones": {
        "function": "sparse_init",
        "why": "sets the nonzeros to 1 instead of drawing them from N(0, 1)",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        W[rng.choice(fan_in, size=k, replace=False), j] = 1.0
    return W
''',
    },
    "sparse_no_validation": {
        "function": "sparse_init",
        "why": "never checks k, so k = 0 silently returns an all-zero matrix",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        rows = rng.choice(fan_in, size=int(k), replace=False)
        W[rows, j] = rng.standard_normal(int(k))
    return W
''',
    },
    "sparse_rejects_full_k": {
        "function": "sparse_init",
        "why": "off by one: rejects k = fan_in, which is allowed",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k < fan_in:
        raise ValueError("k must be an integer in 1..fan_in - 1")
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        rows = rng.choice(fan_in, size=k, replace=False)
        W[rows, j] = rng.standard_normal(k)
    return W
''',
    },
    "sparse_torch_layout": {
        "function": "sparse_init",
        "why": "returns PyTorch's (fan_out, fan_in) layout, k nonzeros per row of it",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_out, fan_in))
    for j in range(fan_out):
        rows = rng.choice(fan_in, size=k, replace=False)
        W[j, rows] = rng.standard_normal(k)
    return W
''',
    },
    "sparse_global_random": {
        "function": "sparse_init",
        "why": "draws the rows and values from np.random's global state instead of rng",
        "source": '''
import numpy as np

def sparse_init(fan_in, fan_out, k, rng):
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= fan_in:
        raise ValueError("k must be an integer in 1..fan_in")
    W = np.zeros((fan_in, fan_out))
    for j in range(fan_out):
        rows = np.random.choice(fan_in, size=k, replace=False)
        W[rows, j] = np.random.standard_normal(k)
    return W
''',
    },
    # ---- output_bias_from_marginals --------------------------------------------------------
    "bias_binary_log_odds": {
        "function": "output_bias_from_marginals",
        "why": "uses the binary log-odds log(p/(1-p)) for each of several softmax classes",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    p = np.asarray(p, dtype=float)
    if np.any(p <= 0) or abs(p.sum() - 1) > 1e-8:
        raise ValueError("p must be positive and sum to 1")
    return np.log(p / (1 - p))
''',
    },
    "bias_equals_p": {
        "function": "output_bias_from_marginals",
        "why": "returns the frequencies themselves as the bias",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    p = np.asarray(p, dtype=float)
    if np.any(p <= 0) or abs(p.sum() - 1) > 1e-8:
        raise ValueError("p must be positive and sum to 1")
    return p.copy()
''',
    },
    "bias_reference_class": {
        "function": "output_bias_from_marginals",
        "why": "returns K - 1 logits relative to class 0 instead of one bias per class",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    p = np.asarray(p, dtype=float)
    if np.any(p <= 0) or abs(p.sum() - 1) > 1e-8:
        raise ValueError("p must be positive and sum to 1")
    return np.log(p[1:] / p[0])
''',
    },
    "bias_no_validation": {
        "function": "output_bias_from_marginals",
        "why": "never validates p, so zeros, negatives and bad sums pass",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    return np.log(np.asarray(p, dtype=float))
''',
    },
    "bias_allows_zero": {
        "function": "output_bias_from_marginals",
        "why": "accepts a zero frequency (p >= 0), whose log is -inf",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or abs(p.sum() - 1) > 1e-8:
        raise ValueError("p must be non-negative and sum to 1")
    with np.errstate(divide="ignore"):
        return np.log(p)
''',
    },
    "bias_isclose_default": {
        "function": "output_bias_from_marginals",
        "why": "checks the sum with np.isclose's default tolerance (rtol=1e-5), far looser than 1e-8",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    p = np.asarray(p, dtype=float)
    if np.any(p <= 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("p must be positive and sum to 1")
    return np.log(p)
''',
    },
    "bias_exact_sum": {
        "function": "output_bias_from_marginals",
        "why": "demands sum(p) == 1 exactly, rejecting frequencies that miss 1 by rounding",
        "source": '''
import numpy as np

def output_bias_from_marginals(p):
    p = np.asarray(p, dtype=float)
    if np.any(p <= 0) or p.sum() != 1.0:
        raise ValueError("p must be positive and sum to 1")
    return np.log(p)
''',
    },
}
