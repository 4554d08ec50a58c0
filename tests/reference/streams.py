"""Philox4x64-10 streams keyed by SHA-256 of a message, as
docs/random-streams.md defines them."""
import hashlib
import math
import struct

import numpy as np


def hex_bits(value):
    """Return the 16 lowercase hex digits of a double's IEEE-754 bits,
    with -0 written as +0."""
    return struct.pack(">d", float(value) + 0.0).hex()


def stream(message):
    """Return a numpy Generator on the Philox stream keyed by message."""
    digest = hashlib.sha256(message.encode("ascii")).digest()
    key = np.array(struct.unpack("<2Q", digest[:16]), dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key))


def normals(generator, count):
    """Draw count standard normals by the cosine branch of Box-Muller,
    two uniforms each.

    The uniforms come in one vectorised call, which numpy fills in stream
    order. The logarithm and cosine use Python's math module (glibc),
    because numpy's SIMD log and cos differ from glibc in the last bit
    for some inputs on AVX-512 machines."""
    uniforms = generator.random(2 * count).tolist()
    log, cos, sqrt, two_pi = math.log, math.cos, math.sqrt, 2.0 * math.pi
    return np.array([sqrt(-2.0 * log(1.0 - uniforms[2 * i])) * cos(two_pi * uniforms[2 * i + 1])
                     for i in range(count)], dtype=np.float64)


def world_message(master_seed, seed, drift, cluster_spread):
    prompt = drift["prompt"]
    prompt_text = "cycle" if prompt is None else ",".join(str(t) for t in prompt)
    return " ".join([
        "driftlab-stream-v1", "purpose=world", f"master_seed={master_seed}",
        f"seed={seed}", f"clusters={drift['clusters']}",
        f"tokens_per_cluster={drift['tokens_per_cluster']}",
        f"d_model={drift['d_model']}", f"d_head={drift['d_head']}",
        f"projection={drift['projection']}",
        f"cluster_spread={hex_bits(cluster_spread)}",
        f"prompt_length={drift['prompt_length']}", f"prompt={prompt_text}",
    ])


def sample_message(master_seed, seed, drift, point):
    world = world_message(master_seed, seed, drift, point["cluster_spread"])
    world = world.replace("purpose=world", "purpose=sample", 1)
    return " ".join([
        world, f"rule={drift['rule']}", f"gain={hex_bits(point['gain'])}",
        f"gain_out={hex_bits(point['gain_out'])}",
        f"temperature={hex_bits(point['temperature'])}",
        f"top_k={int(point['top_k'])}", f"top_p={hex_bits(point['top_p'])}",
        f"min_p={hex_bits(point['min_p'])}",
        f"repetition_penalty={hex_bits(point['repetition_penalty'])}",
    ])


def lora_message(purpose, master_seed, seed, lora, extra=()):
    fields = [
        "driftlab-stream-v1", f"purpose={purpose}", f"master_seed={master_seed}",
        f"seed={seed}", f"D={lora['D']}", f"N={lora['N']}",
        f"task_rank={lora['task_rank']}", f"task_scale={hex_bits(lora['task_scale'])}",
        f"task_decay={hex_bits(lora['task_decay'])}",
        f"task_noise={hex_bits(lora['task_noise'])}", f"n_train={lora['n_train']}",
        f"n_eval={lora['n_eval']}", f"n_old={lora['n_old']}",
    ]
    return " ".join(fields + list(extra))
