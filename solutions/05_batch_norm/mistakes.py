"""Wrong answers for chapter 05_batch_norm, each of which must lose points.

MISTAKES maps a short name to {"function", "why", "source"}: "source" is a complete
wrong definition of "function", graded in place of the reference answer while the
other answers stay the reference ones.
"""

MISTAKES = {
    # --- batchnorm_forward ---------------------------------------------------
    "forward_unbiased_variance": {
        "function": "batchnorm_forward",
        # Costs forward-test points only: the backward tests judge the (right) backward pass on the sigma
        # this forward pass computed, so its cache loses nothing there.
        "why": "normalizes with the unbiased variance (divides by m - 1) instead of the batch's biased variance",
        "source": """
import numpy as np

def batchnorm_forward(H, gamma, beta, delta=1e-5):
    mu = H.mean(axis=0)
    var = H.var(axis=0, ddof=1)
    sigma = np.sqrt(var + delta)
    H_hat = (H - mu) / sigma
    return gamma * H_hat + beta, (H_hat, sigma, np.array(gamma, dtype=float))
""",
    },
    "forward_delta_outside_sqrt": {
        "function": "batchnorm_forward",
        "why": "puts delta outside the square root, sigma = sqrt(var) + delta",
        "source": """
import numpy as np

def batchnorm_forward(H, gamma, beta, delta=1e-5):
    mu = H.mean(axis=0)
    sigma = np.sqrt(np.mean((H - mu) ** 2, axis=0)) + delta
    H_hat = (H - mu) / sigma
    return gamma * H_hat + beta, (H_hat, sigma, np.array(gamma, dtype=float))
""",
    },
    "forward_statistics_over_wrong_axis": {
        "function": "batchnorm_forward",
        # The backward tests run on the cache of this forward pass, which is not a per-unit normalization
        # at all, so no backward pass can be judged on it.
        "also_fails": ("batchnorm_backward",),
        "why": "takes the mean and variance over each example (axis=1) instead of over the batch (axis=0)",
        "source": """
import numpy as np

def batchnorm_forward(H, gamma, beta, delta=1e-5):
    mu = H.mean(axis=1, keepdims=True)
    sigma = np.sqrt(np.mean((H - mu) ** 2, axis=1, keepdims=True) + delta)
    H_hat = (H - mu) / sigma
    return gamma * H_hat + beta, (H_hat, sigma, np.array(gamma, dtype=float))
""",
    },
    "forward_no_scale_shift": {
        "function": "batchnorm_forward",
        "why": "returns the normalized H_hat and forgets gamma and beta",
        "source": """
import numpy as np

def batchnorm_forward(H, gamma, beta, delta=1e-5):
    mu = H.mean(axis=0)
    sigma = np.sqrt(np.mean((H - mu) ** 2, axis=0) + delta)
    H_hat = (H - mu) / sigma
    return H_hat, (H_hat, sigma, np.array(gamma, dtype=float))
""",
    },
    "forward_mutates_H": {
        "function": "batchnorm_forward",
        "why": "centres H in place (H -= mu), changing the caller's array",
        "source": """
import numpy as np

def batchnorm_forward(H, gamma, beta, delta=1e-5):
    H -= H.mean(axis=0)
    sigma = np.sqrt(np.mean(H ** 2, axis=0) + delta)
    H_hat = H / sigma
    return gamma * H_hat + beta, (H_hat, sigma, np.array(gamma, dtype=float))
""",
    },
    # --- batchnorm_backward --------------------------------------------------
    "backward_dgamma_wrong_axis": {
        "function": "batchnorm_backward",
        "why": "sums gamma's gradient over the units (axis=1) instead of over the batch (axis=0)",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    G = gamma * dout
    dH = (G - G.mean(axis=0) - H_hat * np.mean(G * H_hat, axis=0)) / sigma
    return dH, np.sum(dout * H_hat, axis=1), np.sum(dout, axis=0)
""",
    },
    "backward_dbeta_wrong_axis": {
        "function": "batchnorm_backward",
        "why": "sums beta's gradient over the units (axis=1) instead of over the batch (axis=0)",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    G = gamma * dout
    dH = (G - G.mean(axis=0) - H_hat * np.mean(G * H_hat, axis=0)) / sigma
    return dH, np.sum(dout * H_hat, axis=0), np.sum(dout, axis=1)
""",
    },
    "backward_missing_mean_path": {
        "function": "batchnorm_backward",
        "why": "drops the gradient through the batch mean (no - mean(G) term)",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    G = gamma * dout
    dH = (G - H_hat * np.mean(G * H_hat, axis=0)) / sigma
    return dH, np.sum(dout * H_hat, axis=0), np.sum(dout, axis=0)
""",
    },
    "backward_missing_variance_path": {
        "function": "batchnorm_backward",
        "why": "drops the gradient through the batch variance (no - H_hat * mean(G * H_hat) term)",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    G = gamma * dout
    dH = (G - G.mean(axis=0)) / sigma
    return dH, np.sum(dout * H_hat, axis=0), np.sum(dout, axis=0)
""",
    },
    "backward_statistics_as_constants": {
        "function": "batchnorm_backward",
        "why": "treats mu and sigma as constants: dH = gamma * dout / sigma, missing both paths",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    return gamma * dout / sigma, np.sum(dout * H_hat, axis=0), np.sum(dout, axis=0)
""",
    },
    "backward_dH_without_gamma": {
        "function": "batchnorm_backward",
        "why": "forgets the factor gamma in dH (uses dout where gamma * dout belongs)",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    G = dout
    dH = (G - G.mean(axis=0) - H_hat * np.mean(G * H_hat, axis=0)) / sigma
    return dH, np.sum(dout * H_hat, axis=0), np.sum(dout, axis=0)
""",
    },
    "backward_dgamma_uses_H_not_H_hat": {
        "function": "batchnorm_backward",
        "why": "computes dgamma from the unnormalized values, sum(dout * (H - mu)), instead of sum(dout * H_hat)",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    G = gamma * dout
    dH = (G - G.mean(axis=0) - H_hat * np.mean(G * H_hat, axis=0)) / sigma
    return dH, np.sum(dout * H_hat * sigma, axis=0), np.sum(dout, axis=0)
""",
    },
    "backward_mutates_dout": {
        "function": "batchnorm_backward",
        "why": "scales dout in place (dout *= gamma), changing the caller's array",
        "source": """
import numpy as np

def batchnorm_backward(dout, cache):
    H_hat, sigma, gamma = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * H_hat, axis=0)
    dout *= gamma
    dH = (dout - dout.mean(axis=0) - H_hat * np.mean(dout * H_hat, axis=0)) / sigma
    return dH, dgamma, dbeta
""",
    },
    # --- update_running_stats ------------------------------------------------
    "running_momentum_on_new_batch": {
        "function": "update_running_stats",
        "why": "weights the new batch by momentum instead of the old value (PyTorch's convention)",
        "source": """
import numpy as np

def update_running_stats(running_mean, running_var, H, momentum=0.9):
    mu = H.mean(axis=0)
    var = np.mean((H - mu) ** 2, axis=0)
    return (1 - momentum) * running_mean + momentum * mu, (1 - momentum) * running_var + momentum * var
""",
    },
    "running_unbiased_variance": {
        "function": "update_running_stats",
        "why": "folds the unbiased batch variance into running_var (PyTorch's choice, not this course's)",
        "source": """
import numpy as np

def update_running_stats(running_mean, running_var, H, momentum=0.9):
    mu = H.mean(axis=0)
    var = H.var(axis=0, ddof=1)
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var
""",
    },
    "running_mutates_inputs": {
        "function": "update_running_stats",
        "why": "updates running_mean and running_var in place and returns the same arrays",
        "source": """
import numpy as np

def update_running_stats(running_mean, running_var, H, momentum=0.9):
    mu = H.mean(axis=0)
    var = np.mean((H - mu) ** 2, axis=0)
    running_mean *= momentum
    running_mean += (1 - momentum) * mu
    running_var *= momentum
    running_var += (1 - momentum) * var
    return running_mean, running_var
""",
    },
    # --- batchnorm_inference -------------------------------------------------
    "inference_uses_batch_statistics": {
        "function": "batchnorm_inference",
        "why": "normalizes with the test batch's own mean and variance instead of the running statistics",
        "source": """
import numpy as np

def batchnorm_inference(H, gamma, beta, running_mean, running_var, delta=1e-5):
    mu = H.mean(axis=0)
    var = np.mean((H - mu) ** 2, axis=0)
    return gamma * (H - mu) / np.sqrt(var + delta) + beta
""",
    },
    "inference_delta_outside_sqrt": {
        "function": "batchnorm_inference",
        "why": "puts delta outside the square root, sqrt(running_var) + delta",
        "source": """
import numpy as np

def batchnorm_inference(H, gamma, beta, running_mean, running_var, delta=1e-5):
    return gamma * (H - running_mean) / (np.sqrt(running_var) + delta) + beta
""",
    },
    "inference_variance_as_std": {
        "function": "batchnorm_inference",
        "why": "divides by running_var + delta without the square root, treating a variance as a standard deviation",
        "source": """
import numpy as np

def batchnorm_inference(H, gamma, beta, running_mean, running_var, delta=1e-5):
    return gamma * (H - running_mean) / (running_var + delta) + beta
""",
    },
    "inference_mutates_H": {
        "function": "batchnorm_inference",
        "why": "centres and scales H in place, changing the caller's array",
        "source": """
import numpy as np

def batchnorm_inference(H, gamma, beta, running_mean, running_var, delta=1e-5):
    H -= running_mean
    H /= np.sqrt(running_var + delta)
    return gamma * H + beta
""",
    },
}
