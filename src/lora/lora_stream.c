/* lora_stream.c - key messages of the LoRA streams; see lora_stream.h. */
#include "lora_stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stream_message.h"

/* Every LoRA message is far shorter: the longest fields are two 20-digit
 * integers and four 16-digit hex numbers. */
#define DL_LORA_MESSAGE_CAPACITY 512

static const char *purpose_name(dl_lora_stream_purpose purpose)
{
    switch (purpose) {
    case DL_LORA_STREAM_TASK: return "lora-task";
    case DL_LORA_STREAM_INIT: return "lora-init";
    case DL_LORA_STREAM_BATCH: return "lora-batch";
    }
    return "unknown";
}

size_t dl_lora_stream_message(char *buffer, size_t capacity,
                              dl_lora_stream_purpose purpose,
                              uint64_t master_seed, int64_t seed,
                              const dl_lora_task_params *task,
                              const dl_lora_adapter_params *adapter,
                              const dl_lora_train_params *train)
{
    dl_stream_message_text m = dl_stream_message_start(buffer, capacity);

    dl_stream_message_append(&m, "driftlab-stream-v1 purpose=%s master_seed=%" PRIu64 " seed=%" PRId64,
           purpose_name(purpose), master_seed, seed);
    dl_stream_message_append(&m, " D=%d N=%d task_rank=%d", task->input_dim, task->output_dim,
           task->task_rank);
    dl_stream_message_append_real(&m, "task_scale", task->task_scale);
    dl_stream_message_append_real(&m, "task_decay", task->task_decay);
    dl_stream_message_append_real(&m, "task_noise", task->task_noise);
    dl_stream_message_append(&m, " n_train=%d n_eval=%d n_old=%d", task->n_train, task->n_eval,
           task->n_old);

    if (purpose == DL_LORA_STREAM_INIT && adapter != NULL) {
        dl_stream_message_append(&m, " rank=%d", adapter->rank);
        dl_stream_message_append_real(&m, "alpha", adapter->alpha);
        dl_stream_message_append(&m, " scaling=%s init=%s", dl_lora_scaling_name(adapter->scaling),
               dl_lora_init_name(adapter->init));
    }
    if (purpose == DL_LORA_STREAM_BATCH && train != NULL)
        dl_stream_message_append(&m, " batch_size=%d", train->batch_size);
    return m.length;
}

int dl_lora_stream_init(dl_stream *stream, dl_lora_stream_purpose purpose,
                        uint64_t master_seed, int64_t seed,
                        const dl_lora_task_params *task,
                        const dl_lora_adapter_params *adapter,
                        const dl_lora_train_params *train, dl_error *err)
{
    if (task == NULL || (purpose == DL_LORA_STREAM_INIT && adapter == NULL) ||
        (purpose == DL_LORA_STREAM_BATCH && train == NULL))
        return dl_error_set(err, "the %s stream needs its parameters, but they "
                            "are missing (NULL)", purpose_name(purpose));

    char message[DL_LORA_MESSAGE_CAPACITY];
    size_t length = dl_lora_stream_message(message, sizeof message, purpose,
                                           master_seed, seed, task, adapter, train);
    if (length >= sizeof message)
        return dl_error_set(err, "the %s stream message is %zu bytes long, more "
                            "than the %d bytes it may have", purpose_name(purpose),
                            length, DL_LORA_MESSAGE_CAPACITY - 1);

    dl_stream_init_message(stream, message, length);
    return 0;
}
