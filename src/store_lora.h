/* store_lora.h - the /lora group of results.h5.
 *
 * docs/results-format.md lists every dataset. In short: 1-D coordinates
 * rank, alpha, scaling, seed, step_sample, singular_index, token, phi_i and
 * phi_j, made HDF5 dimension scales and attached to every dataset that has
 * them; per-run metrics over [rank, alpha, scaling, seed] (some with one
 * more dimension); per-seed task and full-rank baseline data over [seed];
 * phi over [alpha, scaling, seed, phi_i, phi_j]; and the first seed's base
 * /lora/base/W and adapters /lora/adapters/NAME.
 *
 * The group's attributes are the [lora] keys that are not axes. Every
 * dataset has units, long_name and description attributes, and no object
 * stores a modification time, so the same results give the same bytes.
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
