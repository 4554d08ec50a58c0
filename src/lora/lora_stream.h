/* lora_stream.h - the key messages of the LoRA random streams.
 *
 * Each stream is a dl_stream (stream.h) keyed by a one-line message in the
 * style of docs/random-streams.md. Fields are separated by single spaces,
 * integers are decimal, and real numbers are the 16 lowercase hex digits
 * of their IEEE-754 bits, with -0 written as +0. Every message starts with
 *
 *   driftlab-stream-v1 purpose=P master_seed=M seed=S D=.. N=.. task_rank=..
 *   task_scale=HEX task_decay=HEX task_noise=HEX n_train=.. n_eval=.. n_old=..
 *
 * and the purposes add:
 *
 *   lora-task   nothing: base, teacher, data sets and probe;
 *   lora-init   rank=.. alpha=HEX scaling=NAME init=NAME: the random factor;
 *   lora-batch  batch_size=..: the per-epoch order of the training rows.
 *
 * The batch order leaves out rank, alpha and the optimiser on purpose, so
 * every adapter of a seed and the full-rank baseline see the same
 * mini-batches, and their differences come from the model alone. steps
 * and curve_length are in no message, so a longer run repeats a shorter
 * one's draws. docs/lora.md lists the draws of each stream in order.
 */
#ifndef DRIFTLAB_LORA_STREAM_H
#define DRIFTLAB_LORA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "lora_params.h"
#include "stream.h"

typedef enum {
    DL_LORA_STREAM_TASK = 0,
    DL_LORA_STREAM_INIT = 1,
    DL_LORA_STREAM_BATCH = 2
} dl_lora_stream_purpose;

/* Writes the key message of a LoRA stream into buffer (NUL-terminated,
 * truncated to capacity) and returns its full length, as snprintf does.
 * adapter is read only for DL_LORA_STREAM_INIT and train only for
 * DL_LORA_STREAM_BATCH; either may be NULL otherwise. */
size_t dl_lora_stream_message(char *buffer, size_t capacity,
                              dl_lora_stream_purpose purpose,
                              uint64_t master_seed, int64_t seed,
                              const dl_lora_task_params *task,
                              const dl_lora_adapter_params *adapter,
                              const dl_lora_train_params *train);

/* Starts the stream of that message. Returns 0, or -1 with err set when
 * the parameter needed by the purpose is NULL or the message does not fit
 * its buffer. */
int dl_lora_stream_init(dl_stream *stream, dl_lora_stream_purpose purpose,
                        uint64_t master_seed, int64_t seed,
                        const dl_lora_task_params *task,
                        const dl_lora_adapter_params *adapter,
                        const dl_lora_train_params *train, dl_error *err);

#endif
