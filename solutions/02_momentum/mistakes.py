"""Wrong answers to the momentum chapter that must each lose points.

Checked by tests/test_mistakes.py; the first one is also the sample class's
partly wrong student.
"""

MISTAKES = {
    "velocity_sign": {
        "function": "momentum_step",
        "why": "velocity moves along the gradient: v ← αv + lr·g",
        "source": """
def momentum_step(theta, v, g, lr, alpha):
    v_new = alpha * v + lr * g
    return theta + v_new, v_new
""",
    },
    "old_velocity": {
        "function": "momentum_step",
        "why": "θ moved by the old velocity: θ ← θ + v before v is updated",
        "source": """
def momentum_step(theta, v, g, lr, alpha):
    return theta + v, alpha * v - lr * g
""",
    },
    "lr_alpha_swapped": {
        "function": "momentum_step",
        "why": "the coefficients swapped: v ← lr·v − α·g",
        "source": """
def momentum_step(theta, v, g, lr, alpha):
    v_new = lr * v - alpha * g
    return theta + v_new, v_new
""",
    },
    "momentum_in_place": {
        "function": "momentum_step",
        "why": "the arguments updated in place with *= and +=",
        "source": """
def momentum_step(theta, v, g, lr, alpha):
    v *= alpha
    v -= lr * g
    theta += v
    return theta, v
""",
    },
    "nesterov_at_theta_plus_v": {
        "function": "nesterov_step",
        "why": "the slide's look-ahead: gradient at θ + v instead of θ + αv",
        "source": """
def nesterov_step(theta, v, grad_fn, lr, alpha):
    v_new = alpha * v - lr * grad_fn(theta + v)
    return theta + v_new, v_new
""",
    },
    "nesterov_at_theta": {
        "function": "nesterov_step",
        "why": "no look-ahead at all: gradient at θ (classical momentum)",
        "source": """
def nesterov_step(theta, v, grad_fn, lr, alpha):
    v_new = alpha * v - lr * grad_fn(theta)
    return theta + v_new, v_new
""",
    },
    "nesterov_old_velocity": {
        "function": "nesterov_step",
        "why": "θ moved by the old velocity",
        "source": """
def nesterov_step(theta, v, grad_fn, lr, alpha):
    g = grad_fn(theta + alpha * v)
    return theta + v, alpha * v - lr * g
""",
    },
    "nesterov_in_place": {
        "function": "nesterov_step",
        "why": "the arguments updated in place",
        "source": """
def nesterov_step(theta, v, grad_fn, lr, alpha):
    g = grad_fn(theta + alpha * v)
    v *= alpha
    v -= lr * g
    theta += v
    return theta, v
""",
    },
}
