"""Plausible wrong answers to the exercises of 03_adaptive_rates.

Each must lose points on a test of its own function, and together they must fail
every test cell of the chapter (tests/test_mistakes.py checks both).
"""

MISTAKES = {
    # ---------------------------------------------------------------- adagrad_step
    "adagrad_delta_inside_sqrt": {
        "function": "adagrad_step",
        "why": "delta inside the square root, sqrt(delta + r), as in Deep Learning Alg. 8.5",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-7):
    import numpy as np
    r = r + g * g
    return theta - lr * g / np.sqrt(delta + r), r
""",
    },
    "adagrad_not_accumulated": {
        "function": "adagrad_step",
        "why": "r replaced by this step's g**2 instead of accumulated",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-7):
    import numpy as np
    r = g * g
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    "adagrad_old_accumulator": {
        "function": "adagrad_step",
        "why": "the step divides by the old r, before this step's g**2 is added",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-7):
    import numpy as np
    new_theta = theta - lr * g / (delta + np.sqrt(r))
    return new_theta, r + g * g
""",
    },
    "adagrad_in_place": {
        "function": "adagrad_step",
        "why": "updates theta and r in place (r += g**2, theta -= ...) and returns them",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-7):
    import numpy as np
    r += g * g
    theta -= lr * g / (delta + np.sqrt(r))
    return theta, r
""",
    },
    "adagrad_global_norm": {
        "function": "adagrad_step",
        "why": "one rate for all parameters: accumulates the squared norm of the whole gradient",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-7):
    import numpy as np
    r = r + np.sum(g * g)
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    "adagrad_wrong_default_delta": {
        "function": "adagrad_step",
        "why": "default delta 1e-8 (Adam's) instead of the specified 1e-7",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-8):
    import numpy as np
    r = r + g * g
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    "adagrad_gradient_ascent": {
        "function": "adagrad_step",
        "why": "moves along the gradient (theta + ...) instead of against it",
        "source": """
def adagrad_step(theta, r, g, lr, delta=1e-7):
    import numpy as np
    r = r + g * g
    return theta + lr * g / (delta + np.sqrt(r)), r
""",
    },
    # ---------------------------------------------------------------- rmsprop_step
    "rmsprop_delta_inside_sqrt": {
        "function": "rmsprop_step",
        "why": "delta inside the square root, sqrt(delta + r), as in Deep Learning Alg. 8.5",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    import numpy as np
    r = rho * r + (1 - rho) * g * g
    return theta - lr * g / np.sqrt(delta + r), r
""",
    },
    "rmsprop_not_accumulated": {
        "function": "rmsprop_step",
        "why": "forgets the old average: r = (1 - rho) * g**2",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    import numpy as np
    r = (1 - rho) * g * g
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    "rmsprop_old_accumulator": {
        "function": "rmsprop_step",
        "why": "the step divides by the old r, before this step's gradient is mixed in",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    import numpy as np
    new_theta = theta - lr * g / (delta + np.sqrt(r))
    return new_theta, rho * r + (1 - rho) * g * g
""",
    },
    "rmsprop_rho_swapped": {
        "function": "rmsprop_step",
        "why": "rho and 1 - rho swapped: r = (1 - rho) * r + rho * g**2",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    import numpy as np
    r = (1 - rho) * r + rho * g * g
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    "rmsprop_in_place": {
        "function": "rmsprop_step",
        "why": "updates r and theta in place (r *= rho; r += ...; theta -= ...)",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    import numpy as np
    r *= rho
    r += (1 - rho) * g * g
    theta -= lr * g / (delta + np.sqrt(r))
    return theta, r
""",
    },
    "rmsprop_no_sqrt": {
        "function": "rmsprop_step",
        "why": "divides by r instead of its square root",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    r = rho * r + (1 - rho) * g * g
    return theta - lr * g / (delta + r), r
""",
    },
    "rmsprop_wrong_default_delta": {
        "function": "rmsprop_step",
        "why": "default delta 1e-8 instead of the specified 1e-6",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-8):
    import numpy as np
    r = rho * r + (1 - rho) * g * g
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    "rmsprop_wrong_default_rho": {
        "function": "rmsprop_step",
        "why": "default rho 0.99 instead of the specified 0.9",
        "source": """
def rmsprop_step(theta, r, g, lr, rho=0.99, delta=1e-6):
    import numpy as np
    r = rho * r + (1 - rho) * g * g
    return theta - lr * g / (delta + np.sqrt(r)), r
""",
    },
    # ---------------------------------------------------------------- adam_step
    "adam_no_bias_correction": {
        "function": "adam_step",
        "why": "no bias correction, as on the lecture's slide: lr * s / (delta + sqrt(r))",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    return theta - lr * s / (delta + np.sqrt(r)), s, r
""",
    },
    "adam_only_first_moment_corrected": {
        "function": "adam_step",
        "why": "bias correction of s only; r used uncorrected",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** t)
    return theta - lr * s_hat / (delta + np.sqrt(r)), s, r
""",
    },
    "adam_only_second_moment_corrected": {
        "function": "adam_step",
        "why": "bias correction of r only; s used uncorrected",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s / (delta + np.sqrt(r_hat)), s, r
""",
    },
    "adam_step_count_plus_one": {
        "function": "adam_step",
        "why": "step count off by one: corrects with t + 1 (counts the step after this one)",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** (t + 1))
    r_hat = r / (1 - rho2 ** (t + 1))
    return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s, r
""",
    },
    "adam_step_count_minus_one": {
        "function": "adam_step",
        "why": "step count off by one: corrects with t - 1 (as if t counted from 0)",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    with np.errstate(all="ignore"):
        s = rho1 * s + (1 - rho1) * g
        r = rho2 * r + (1 - rho2) * g * g
        s_hat = s / (1 - rho1 ** (t - 1))
        r_hat = r / (1 - rho2 ** (t - 1))
        return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s, r
""",
    },
    "adam_delta_inside_sqrt": {
        "function": "adam_step",
        "why": "delta inside the square root, sqrt(r_hat + delta)",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s_hat / np.sqrt(r_hat + delta), s, r
""",
    },
    "adam_efficient_form": {
        "function": "adam_step",
        "why": "the paper's 'efficient' form: delta added to the uncorrected sqrt(r)",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    lr_t = lr * np.sqrt(1 - rho2 ** t) / (1 - rho1 ** t)
    return theta - lr_t * s / (np.sqrt(r) + delta), s, r
""",
    },
    "adam_rho1_swapped": {
        "function": "adam_step",
        "why": "rho1 and 1 - rho1 swapped in the first moment",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = (1 - rho1) * s + rho1 * g
    r = rho2 * r + (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s, r
""",
    },
    "adam_rho2_swapped": {
        "function": "adam_step",
        "why": "rho2 and 1 - rho2 swapped in the second moment",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = (1 - rho2) * r + rho2 * g * g
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s, r
""",
    },
    "adam_second_moment_not_accumulated": {
        "function": "adam_step",
        "why": "the second moment forgets its past: r = (1 - rho2) * g**2",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s, r
""",
    },
    "adam_old_moments": {
        "function": "adam_step",
        "why": "the step uses the moments from before this step's update",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    new_theta = theta - lr * s_hat / (delta + np.sqrt(r_hat))
    return new_theta, rho1 * s + (1 - rho1) * g, rho2 * r + (1 - rho2) * g * g
""",
    },
    "adam_returns_corrected_moments": {
        "function": "adam_step",
        "why": "returns the bias-corrected s_hat, r_hat as the state instead of the raw averages",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s_hat, r_hat
""",
    },
    "adam_in_place": {
        "function": "adam_step",
        "why": "updates s, r and theta in place (s *= rho1; s += ...; theta -= ...)",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s *= rho1
    s += (1 - rho1) * g
    r *= rho2
    r += (1 - rho2) * g * g
    theta -= lr * (s / (1 - rho1 ** t)) / (delta + np.sqrt(r / (1 - rho2 ** t)))
    return theta, s, r
""",
    },
    "adam_wrong_default_lr": {
        "function": "adam_step",
        "why": "default lr 1e-2 instead of the specified 1e-3",
        "source": """
def adam_step(theta, s, r, g, t, lr=1e-2, rho1=0.9, rho2=0.999, delta=1e-8):
    import numpy as np
    s = rho1 * s + (1 - rho1) * g
    r = rho2 * r + (1 - rho2) * g * g
    s_hat = s / (1 - rho1 ** t)
    r_hat = r / (1 - rho2 ** t)
    return theta - lr * s_hat / (delta + np.sqrt(r_hat)), s, r
""",
    },
}
