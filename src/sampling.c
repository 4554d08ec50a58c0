/* sampling.c - repetition penalty, temperature, top-k, top-p, min-p and
 * the categorical draw; see sampling.h for the order of the steps.
 *
 * Invariants: after softmax every filter keeps at least the most probable
 * item, so the kept mass is never 0 and the draw always finds an item with
 * positive mass. Each active filter renormalises the kept entries by their
 * index-order sum. Ranking by (probability descending, index ascending) is
 * a total order on distinct indices, so the sorted order, and with it every
 * result, is deterministic even though the heapsort used here is unstable.
 */
#include "sampling.h"

#include <math.h>

#include "kernels.h"

/* True when item a comes before item b in the ranking: more probable, or
 * equally probable with the lower index. p must not contain NaN. */
static int ranks_before(const double *p, size_t a, size_t b)
{
    if (p[a] != p[b])
        return p[a] > p[b];
    return a < b;
}

/* Restores the heap property below root in order[0..end), where a parent
 * ranks after its children, so the root is the latest-ranked item. */
static void sift_down(size_t *order, size_t root, size_t end, const double *p)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= end)
            return;

        if (child + 1 < end && ranks_before(p, order[child], order[child + 1]))
            child++;
        if (!ranks_before(p, order[root], order[child]))
            return;

        size_t swap = order[root];
        order[root] = order[child];
        order[child] = swap;
        root = child;
    }
}

/* Fills order[n] with the indices 0..n-1 ranked by decreasing probability,
 * ties by increasing index. Heapsort needs no memory beyond order and takes
 * O(n log n) comparisons. */
static void rank_items(size_t *order, const double *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;

    for (size_t start = n / 2; start > 0; start--)
        sift_down(order, start - 1, n, p);

    /* Moving the latest-ranked item to the end each round leaves the
     * earliest-ranked (most probable) item at order[0]. */
    for (size_t end = n; end > 1; end--) {
        size_t swap = order[0];
        order[0] = order[end - 1];
        order[end - 1] = swap;
        sift_down(order, 0, end - 1, p);
    }
}

/* Divides p by its index-order sum. A zero sum (no kept mass) is left as
 * is, which the filters prevent by always keeping the top item. */
static void renormalise(double *p, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += p[i];
    if (!(sum > 0.0))
        return;

    for (size_t i = 0; i < n; i++)
        p[i] /= sum;
}

void dl_apply_repetition_penalty(double *logits, const uint8_t *seen,
                                 size_t n, double penalty)
{
    if (seen == NULL || penalty == 1.0)
        return;

    /* Dividing a positive logit and multiplying a non-positive one both
     * lower the item's probability when penalty > 1. A logit of 0 stays 0
     * and -inf stays -inf. */
    for (size_t i = 0; i < n; i++) {
        if (!seen[i])
            continue;
        if (logits[i] > 0.0)
            logits[i] /= penalty;
        else
            logits[i] *= penalty;
    }
}

void dl_filter_top_k(double *p, size_t n, int k, size_t *order)
{
    if (k <= 0 || (size_t)k >= n)
        return;

    rank_items(order, p, n);
    for (size_t rank = (size_t)k; rank < n; rank++)
        p[order[rank]] = 0.0;
    renormalise(p, n);
}

void dl_filter_top_p(double *p, size_t n, double top_p, size_t *order)
{
    if (top_p >= 1.0 || n == 0)
        return;

    /* Once the kept mass reaches top_p it never falls again, so every item
     * after the first one dropped is dropped too. */
    rank_items(order, p, n);
    double kept_mass = 0.0;
    for (size_t rank = 0; rank < n; rank++) {
        size_t item = order[rank];
        if (rank == 0 || kept_mass < top_p)
            kept_mass += p[item];
        else
            p[item] = 0.0;
    }
    renormalise(p, n);
}

void dl_filter_min_p(double *p, size_t n, double min_p)
{
    if (!(min_p > 0.0) || n == 0)
        return;

    double max = p[0];
    for (size_t i = 1; i < n; i++) {
        if (p[i] > max)
            max = p[i];
    }

    /* min_p <= 1 puts the threshold at or below max, so the most probable
     * item always survives. */
    double threshold = min_p * max;
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= threshold))
            p[i] = 0.0;
    }
    renormalise(p, n);
}

size_t dl_draw_categorical(const double *p, size_t n, double u)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += p[i];

    /* An item of zero mass leaves the cumulative sum unchanged, so it can
     * never be the first to exceed the target. */
    double target = u * total;
    double cumulative = 0.0;
    for (size_t i = 0; i < n; i++) {
        cumulative += p[i];
        if (cumulative > target)
            return i;
    }

    /* Reached only when u * total rounds up to the total or u >= 1. The
     * last item with mass is then the one the cumulative walk would end on. */
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] > 0.0)
            return i - 1;
    }
    return n;
}

/* Checks the sampler fields and u against the ranges in sampling.h. */
static int check_sampler(const dl_sampler *sampler, double u, dl_error *err)
{
    if (!(sampler->temperature >= 0.0) || isinf(sampler->temperature))
        return dl_error_set(err, "sampler temperature %g is invalid: it must "
                            "be a finite number >= 0", sampler->temperature);
    if (sampler->top_k < 0)
        return dl_error_set(err, "sampler top_k %d is invalid: it must be >= 0 "
                            "(0 turns it off)", sampler->top_k);
    if (!(sampler->top_p >= 0.0 && sampler->top_p <= 1.0))
        return dl_error_set(err, "sampler top_p %g is invalid: it must be in "
                            "[0, 1] (1 turns it off)", sampler->top_p);
    if (!(sampler->min_p >= 0.0 && sampler->min_p <= 1.0))
        return dl_error_set(err, "sampler min_p %g is invalid: it must be in "
                            "[0, 1] (0 turns it off)", sampler->min_p);
    if (!(sampler->repetition_penalty > 0.0)
        || isinf(sampler->repetition_penalty))
        return dl_error_set(err, "sampler repetition_penalty %g is invalid: it "
                            "must be a finite number > 0 (1 turns it off)",
                            sampler->repetition_penalty);
    if (!(u >= 0.0 && u < 1.0))
        return dl_error_set(err, "uniform draw u = %g is invalid: it must be "
                            "in [0, 1)", u);
    return 0;
}

/* Rejects a NaN or +inf logit and a row that is all -inf. stage follows
 * the value in the message, so it can name the step that produced it. */
static int check_logits(const double *logits, size_t n, const char *stage,
                        dl_error *err)
{
    size_t unmasked = 0;
    for (size_t i = 0; i < n; i++) {
        /* glibc 2.36 prints a NaN with its sign bit set as "-nan", and on
         * x86-64 0.0 / 0.0 gives such a NaN, so the message spells "nan". */
        if (isnan(logits[i]))
            return dl_error_set(err, "logit of item %zu is nan%s: logits must "
                                "be finite or -inf", i, stage);
        if (logits[i] == INFINITY)
            return dl_error_set(err, "logit of item %zu is inf%s: logits must "
                                "be finite or -inf", i, stage);
        if (logits[i] != -INFINITY)
            unmasked++;
    }
    if (unmasked == 0)
        return dl_error_set(err, "every item is masked (-inf)%s: nothing to "
                            "sample", stage);
    return 0;
}

int dl_sample(const dl_sampler *sampler, const double *logits,
              const uint8_t *seen, size_t n, double u,
              dl_sampler_work *work, size_t *chosen, dl_error *err)
{
    if (n == 0)
        return dl_error_set(err, "cannot sample from 0 items: n must be at "
                            "least 1");
    if (check_sampler(sampler, u, err) != 0)
        return -1;
    if (check_logits(logits, n, "", err) != 0)
        return -1;

    /* The penalty can push a large logit to +inf (penalty < 1) or every
     * logit to -inf (a huge penalty), so check again after it. */
    double *x = work->logits;
    for (size_t i = 0; i < n; i++)
        x[i] = logits[i];
    dl_apply_repetition_penalty(x, seen, n, sampler->repetition_penalty);
    if (check_logits(x, n, " after the repetition penalty", err) != 0)
        return -1;

    /* Every filter keeps the most probable item, so at temperature 0 the
     * filters cannot change the result and the argmax is returned. */
    if (sampler->temperature == 0.0) {
        *chosen = dl_argmax(x, n);
        return 0;
    }

    double *p = work->p;
    if (dl_softmax(p, x, n, sampler->temperature) != 0)
        return dl_error_set(err, "softmax of the logits at temperature %g "
                            "failed", sampler->temperature);

    dl_filter_top_k(p, n, sampler->top_k, work->order);
    dl_filter_top_p(p, n, sampler->top_p, work->order);
    dl_filter_min_p(p, n, sampler->min_p);

    size_t item = dl_draw_categorical(p, n, u);
    if (item >= n)
        return dl_error_set(err, "no item has positive probability after the "
                            "filters: nothing to sample");
    *chosen = item;
    return 0;
}
