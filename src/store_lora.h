/* store_lora.h - the /lora group of results.h5.
 *
 * Layout, where rank, alpha, seed and step_sample are 1-D coordinates made
 * HDF5 dimension scales and attached to every dataset that has them:
 *
 *   eval_kl, forgetting, final_loss, relative_error, eckart_young_error,
 *   parameter_count, parameter_ratio          [rank, alpha, seed]
 *   loss_curve                                [rank, alpha, seed, step_sample]
 *   full_rank_eval_kl, full_rank_forgetting   [seed]
 *
 * step_sample holds the optimiser step of each recorded loss point. The
 * group's attributes are the [lora] keys that are not axes. Every dataset
 * has units, long_name and description attributes, and no object stores
 * a modification time, so the same results give the same bytes.
 */
#ifndef DRIFTLAB_STORE_LORA_H
#define DRIFTLAB_STORE_LORA_H

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "lora_sweep.h"

/* Writes the /lora group into the HDF5 file file (an open hid_t), named
 * file_name in messages. An old /lora group, left by an interrupted run,
 * is replaced. Returns 0, or -1 with err set. */
int dl_store_lora_write(int64_t file, const char *file_name,
                        const dl_config *cfg,
                        const dl_lora_sweep_result *result, dl_error *err);

/* Creates PATH.partial with the root attributes of dl_store_create and the
 * /lora group only, then renames it to path. For configs without [drift].
 * Returns 0, or -1 with err set and PATH.partial removed. */
int dl_store_lora_create(const char *path, const dl_config *cfg,
                         const char *version,
                         const dl_lora_sweep_result *result, dl_error *err);

#endif
