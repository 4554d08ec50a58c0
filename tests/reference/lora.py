"""The LoRA model of docs/lora.md in numpy: the task, the adapters, their
training and every metric of the /lora group."""
import math

import numpy as np

from .streams import hex_bits, lora_message, normals, stream

BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


class Task:
    """W, the teacher update dW*, the three data sets and the probe row of
    one seed, drawn from its lora-task stream in the documented order.

    perturb_input moves the first training input up by one ulp, to
    measure how much rounding can change a training run."""

    def __init__(self, master_seed, seed, lora, perturb_input=False):
        D, N, k = lora["D"], lora["N"], lora["task_rank"]
        generator = stream(lora_message("lora-task", master_seed, seed, lora))

        self.W = (1.0 / math.sqrt(D)) * normals(generator, D * N).reshape(D, N)
        self.U = _signed_q(normals(generator, D * k).reshape(D, k))
        V = _signed_q(normals(generator, N * k).reshape(N, k))
        sigma = np.array([lora["task_scale"] * math.pow(lora["task_decay"], i)
                          for i in range(k)])
        self.dW_star = (self.U * sigma) @ V.T
        if lora["task_noise"] > 0:
            factor = lora["task_noise"] / math.sqrt(D)
            self.dW_star = self.dW_star + factor * normals(generator, D * N).reshape(D, N)
        self.W_star = self.W + self.dW_star

        self.X_train = normals(generator, lora["n_train"] * D).reshape(-1, D)
        if perturb_input:
            self.X_train[0, 0] = np.nextafter(self.X_train[0, 0], np.inf)
        self.X_eval = normals(generator, lora["n_eval"] * D).reshape(-1, D)
        raw = normals(generator, lora["n_old"] * D).reshape(-1, D)
        self.X_old = raw - (raw @ self.U) @ self.U.T
        self.probe = normals(generator, D).reshape(1, D)

        self.P_train = softmax(self.X_train @ self.W_star)
        self.task_singular_values = np.linalg.svd(self.dW_star, compute_uv=False)


def _teacher_entropy(task):
    """Return the mean entropy of the teacher's softmax over the training
    rows, in nats: the training loss of the teacher itself."""
    log_p = log_softmax(task.X_train @ task.W_star)
    return float(-(task.P_train * log_p).sum(axis=1).mean())


def _signed_q(matrix):
    """Return the Q factor of a QR decomposition with column j multiplied by
    the sign of R[j][j], which makes it unique for a full-rank matrix."""
    q, r = np.linalg.qr(matrix)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(logits):
    top = logits.max(axis=1, keepdims=True)
    return logits - (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))


def mean_kl(p_logits, q_logits):
    """Mean over rows of KL(softmax(p_logits) || softmax(q_logits)), nats."""
    log_p = log_softmax(p_logits)
    log_q = log_softmax(q_logits)
    p = np.exp(log_p)
    terms = np.where(p > 0, p * (log_p - log_q), 0.0)
    return float(terms.sum(axis=1).mean())


def cross_entropy(logits, targets):
    return float(-(targets * log_softmax(logits)).sum(axis=1).mean())


def scale_of(alpha, rank, scaling):
    if scaling == "standard":
        return alpha / rank
    if scaling == "rslora":
        return alpha / math.sqrt(rank)
    return alpha


def curve_steps(steps, curve_length):
    length = min(curve_length, steps + 1)
    return [j * steps // (length - 1) for j in range(length)]


class Batches:
    """The row slices of each step: the full training set, or shuffled
    epochs drawn from the seed's lora-batch stream."""

    def __init__(self, master_seed, seed, lora):
        self.n = lora["n_train"]
        self.size = lora["batch_size"]
        self.full = self.size in (0, self.n)
        if not self.full:
            message = lora_message("lora-batch", master_seed, seed, lora,
                                   [f"batch_size={self.size}"])
            self.generator = stream(message)
            self.order = None
            self.position = self.n

    def next(self):
        """Return the row indices of the next step (None for all rows)."""
        if self.full:
            return None
        if self.position >= self.n:
            # Fisher-Yates from the last index down: the swap partners
            # come from one vectorised draw, the swaps run in order.
            order = list(range(self.n))
            bounds = np.arange(self.n - 1, 0, -1)
            partners = np.floor(self.generator.random(self.n - 1) * (bounds + 1)).astype(np.int64)
            for i, j in zip(bounds.tolist(), partners.tolist()):
                order[i], order[j] = order[j], order[i]
            self.order = np.array(order, dtype=np.int64)
            self.position = 0
        rows = self.order[self.position:self.position + self.size]
        self.position += len(rows)
        return rows


class Adam:
    def __init__(self, shapes, learning_rate):
        self.lr = learning_rate
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        c1 = 1.0 - math.pow(BETA1, self.t)
        c2 = 1.0 - math.pow(BETA2, self.t)
        for theta, g, m, v in zip(params, grads, self.m, self.v):
            m *= BETA1
            m += (1.0 - BETA1) * g
            v *= BETA2
            v += (1.0 - BETA2) * (g * g)
            theta -= self.lr * (m / c1) / (np.sqrt(v / c2) + EPSILON)


class Sgd:
    def __init__(self, shapes, learning_rate):
        self.lr = learning_rate

    def step(self, params, grads):
        for theta, g in zip(params, grads):
            theta -= self.lr * g


def _optimizer(lora, shapes):
    kind = Adam if lora["optimizer"] == "adam" else Sgd
    return kind(shapes, lora["learning_rate"])


def _train(lora, batches, params, logits_of, gradients_of, P):
    """Run lora['steps'] updates of params in place and return the loss
    curve at the documented steps.

    logits_of(rows) returns the logits of the training rows (all rows for
    None), gradients_of(rows, G) the parameter gradients for dL/dZ = G,
    and P contains the teacher probabilities of all training rows."""
    steps = lora["steps"]
    sampled = set(curve_steps(steps, lora["curve_length"]))
    curve = []
    optimizer = _optimizer(lora, [p.shape for p in params])
    for t in range(steps + 1):
        if t in sampled:
            curve.append(cross_entropy(logits_of(None), P))
            if not math.isfinite(curve[-1]):
                raise FloatingPointError(
                    f"training loss is not finite after {t} steps "
                    f"(learning rate {lora['learning_rate']:g})")
        if t == steps:
            break
        rows = batches.next()
        logits = logits_of(rows)
        targets = P if rows is None else P[rows]
        G = (softmax(logits) - targets) / len(targets)
        optimizer.step(params, gradients_of(rows, G))
    return np.array(curve)


def _spectrum_metrics(update, W, rank):
    """Return the singular values, effective rank and amplification of an
    update."""
    u, s, vt = np.linalg.svd(update)
    total = s.sum()
    if total == 0:
        return s, 0.0, 0.0
    p = s / total
    p = p[p > 0]
    effective_rank = math.exp(-float((p * np.log(p)).sum()))
    # only the singular pairs above rounding level, as docs/lora.md defines
    used = int(np.count_nonzero(s[:rank] > s[0] * max(update.shape) * np.finfo(float).eps))
    projected = u[:, :used].T @ W @ vt[:used].T
    amplification = np.linalg.norm(update) / np.linalg.norm(projected)
    return s, effective_rank, float(amplification)


def _relative_to_task(norm, task):
    """Return norm / ||dW*||_F, or NaN when dW* = 0."""
    norm_star = np.linalg.norm(task.dW_star)
    return float(norm / norm_star) if norm_star > 0 else math.nan


def fit_adapter(task, lora, master_seed, seed, rank, alpha, scaling):
    """Train one adapter and return its metrics, its B and A, and for
    init = svd its start B_init and A_init (None otherwise)."""
    D, N = lora["D"], lora["N"]
    s = scale_of(alpha, rank, scaling)
    init = lora["init"]
    message = lora_message("lora-init", master_seed, seed, lora, [
        f"rank={rank}", f"alpha={hex_bits(alpha)}", f"scaling={scaling}", f"init={init}"])
    generator = stream(message)
    B_init = A_init = None
    if init == "kaiming":
        c = 1.0 / math.sqrt(N)
        A = c * (2.0 * generator.random(rank * N).reshape(rank, N) - 1.0)
        B = np.zeros((D, rank))
        W0 = task.W
    elif init == "gaussian":
        A = (1.0 / rank) * normals(generator, rank * N).reshape(rank, N)
        B = np.zeros((D, rank))
        W0 = task.W
    else:
        u, sv, vt = np.linalg.svd(task.W, full_matrices=False)
        factor = np.sqrt(sv[:rank] / s)
        B = u[:, :rank] * factor
        A = factor[:, None] * vt[:rank]
        B_init, A_init = B.copy(), A.copy()
        W0 = task.W - s * (B @ A)

    Z0 = task.X_train @ W0

    def logits_of(rows):
        X = task.X_train if rows is None else task.X_train[rows]
        base = Z0 if rows is None else Z0[rows]
        if s == 0.0:
            return base
        return base + s * ((X @ B) @ A)

    def gradients_of(rows, G):
        X = task.X_train if rows is None else task.X_train[rows]
        if s == 0.0:
            return [np.zeros_like(B), np.zeros_like(A)]
        return [s * (X.T @ (G @ A.T)), s * ((X @ B).T @ G)]

    batches = Batches(master_seed, seed, lora)
    curve = _train(lora, batches, [B, A], logits_of, gradients_of, task.P_train)

    def adapted(X):
        return X @ W0 + s * ((X @ B) @ A) if s != 0.0 else X @ W0

    update = (W0 - task.W) + s * (B @ A)
    singular_values, effective_rank, amplification = _spectrum_metrics(update, task.W, rank)
    tail = task.task_singular_values[rank:]
    return {
        "loss_curve": curve,
        "final_loss": curve[-1],
        "eval_kl": mean_kl(task.X_eval @ task.W_star, adapted(task.X_eval)),
        "forgetting": mean_kl(task.X_old @ task.W, adapted(task.X_old)),
        "relative_error": _relative_to_task(np.linalg.norm(update - task.dW_star), task),
        "eckart_young_error": _relative_to_task(math.sqrt(float((tail * tail).sum())), task),
        "parameter_count": rank * (D + N),
        "parameter_ratio": rank * (D + N) / (D * N),
        "effective_rank": effective_rank,
        "amplification": amplification,
        "scale": s,
        "singular_values": singular_values,
        "probe_adapted": softmax(adapted(task.probe))[0],
        "B": B, "A": A, "B_init": B_init, "A_init": A_init,
    }


def fit_full_rank(task, lora, master_seed, seed):
    """Train the full-rank baseline dW of a seed and return its metrics."""
    D, N = lora["D"], lora["N"]
    dW = np.zeros((D, N))
    Z0 = task.X_train @ task.W

    def logits_of(rows):
        if rows is None:
            return Z0 + task.X_train @ dW
        return Z0[rows] + task.X_train[rows] @ dW

    def gradients_of(rows, G):
        X = task.X_train if rows is None else task.X_train[rows]
        return [X.T @ G]

    batches = Batches(master_seed, seed, lora)
    curve = _train(lora, batches, [dW], logits_of, gradients_of, task.P_train)

    def adapted(X):
        return X @ task.W + X @ dW

    return {
        "full_rank_loss_curve": curve,
        "full_rank_final_loss": curve[-1],
        "full_rank_eval_kl": mean_kl(task.X_eval @ task.W_star, adapted(task.X_eval)),
        "full_rank_forgetting": mean_kl(task.X_old @ task.W, adapted(task.X_old)),
        "full_rank_relative_error": _relative_to_task(np.linalg.norm(dW - task.dW_star), task),
        "full_rank_singular_values": np.linalg.svd(dW, compute_uv=False),
        "full_rank_probe": softmax(adapted(task.probe))[0],
    }


def subspace_similarity(A1, A2):
    """Return the r1 x r2 table phi(i, j) = ||V1_i^T V2_j||_F^2 / min(i, j)
    of the top right-singular vectors of A1 (r1 x N) and A2 (r2 x N)."""
    v1 = np.linalg.svd(A1, full_matrices=False)[2].T
    v2 = np.linalg.svd(A2, full_matrices=False)[2].T
    overlap = (v1.T @ v2) ** 2
    cumulative = overlap.cumsum(axis=0).cumsum(axis=1)
    r1, r2 = A1.shape[0], A2.shape[0]
    i = np.arange(1, r1 + 1)[:, None]
    j = np.arange(1, r2 + 1)[None, :]
    return cumulative / np.minimum(i, j)


def fit_config(config, perturb_input=False):
    """Reproduce the /lora group of a config as a dict of arrays, named and
    shaped as docs/results-format.md lists them, plus the tasks and fits
    by seed and by (rank, alpha, scaling, seed)."""
    lora = config.lora
    ranks, alphas, scalings = lora["rank"], lora["alpha"], lora["scaling"]
    seeds = config.lora_seeds
    shape = (len(ranks), len(alphas), len(scalings), len(seeds))
    out = {"adapters": {}, "tasks": {}}
    per_seed = {}
    for seed_index, seed in enumerate(seeds):
        task = Task(config.master_seed, seed, lora, perturb_input)
        out["tasks"][seed] = task
        for key, value in fit_full_rank(task, lora, config.master_seed, seed).items():
            per_seed.setdefault(key, [None] * len(seeds))[seed_index] = value
        for rank in ranks:
            for alpha in alphas:
                for scaling in scalings:
                    fit = fit_adapter(task, lora, config.master_seed, seed, rank, alpha, scaling)
                    out["adapters"][(rank, alpha, scaling, seed)] = fit

    for name in ("loss_curve", "final_loss", "eval_kl", "forgetting", "relative_error",
                 "eckart_young_error", "parameter_count", "parameter_ratio",
                 "effective_rank", "amplification", "scale", "singular_values",
                 "probe_adapted"):
        first = out["adapters"][(ranks[0], alphas[0], scalings[0], seeds[0])][name]
        array = np.empty(shape + np.shape(first), dtype=np.asarray(first).dtype)
        for index in np.ndindex(*shape):
            key = (ranks[index[0]], alphas[index[1]], scalings[index[2]], seeds[index[3]])
            array[index] = out["adapters"][key][name]
        out[name] = array

    for key, values in per_seed.items():
        out[key] = np.array(values)
    out["task_singular_values"] = np.array([out["tasks"][s].task_singular_values for s in seeds])
    out["train_teacher_entropy"] = np.array([_teacher_entropy(out["tasks"][s]) for s in seeds])
    out["probe_base"] = np.array([softmax(out["tasks"][s].probe @ out["tasks"][s].W)[0]
                                  for s in seeds])
    out["probe_teacher"] = np.array([softmax(out["tasks"][s].probe @ out["tasks"][s].W_star)[0]
                                     for s in seeds])

    small, large = min(ranks), max(ranks)
    phi = np.empty((len(alphas), len(scalings), len(seeds), small, large))
    for index in np.ndindex(len(alphas), len(scalings), len(seeds)):
        alpha, scaling, seed = alphas[index[0]], scalings[index[1]], seeds[index[2]]
        phi[index] = subspace_similarity(out["adapters"][(small, alpha, scaling, seed)]["A"],
                                         out["adapters"][(large, alpha, scaling, seed)]["A"])
    out["phi"] = phi
    return out
