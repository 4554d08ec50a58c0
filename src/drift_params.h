/* drift_params.h - every parameter of one drift run (one sweep point).
 *
 * The sweep plan fills one of these per sweep point from the config; the
 * model reads nothing else. Keeping it a plain struct lets tests build runs
 * without any config file.
 */
#ifndef DRIFTLAB_DRIFT_PARAMS_H
#define DRIFTLAB_DRIFT_PARAMS_H

#include "config.h"

typedef struct {
    /* the world: vocabulary, projections, prompt */
    int clusters;           /* C */
    int tokens_per_cluster; /* m; vocabulary size V = C * m */
    int d_model;            /* embedding dimension */
    int d_head;             /* query/key/value dimension */
    dl_projection projection;
    double cluster_spread;  /* token noise scale times sqrt(d_model) */
    int prompt_length;      /* P */
    const int *prompt;      /* P token ids, or NULL to cycle the clusters */

    /* generation */
    int steps;
    dl_rule rule;
    double gain;            /* multiplies the attention scores */
    double gain_out;        /* multiplies the lm rule's output logits */
    double temperature;     /* 0: argmax */
    int top_k;              /* 0: off */
    double top_p;           /* 1: off */
    double min_p;           /* 0: off */
    double repetition_penalty; /* 1: off */
} dl_drift_params;

#endif
