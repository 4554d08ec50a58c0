/* assert_near.h - a cmocka assertion for doubles within an absolute
 * tolerance. cmocka's assert_float_equal converts to float, so this one
 * keeps doubles and prints all 17 significant digits on failure.
 * Include after <cmocka.h> (and its prerequisites) and <math.h>. */
#ifndef DRIFTLAB_TESTS_ASSERT_NEAR_H
#define DRIFTLAB_TESTS_ASSERT_NEAR_H

static void check_near(double actual, double expected, double tolerance,
                       const char *expression, const char *file, int line)
{
    if (fabs(actual - expected) <= tolerance)
        return;
    print_error("%s is %.17g, expected %.17g within %g\n", expression, actual,
                expected, tolerance);
    _fail(file, line);
}

/* Fails unless |actual - expected| <= tolerance. */
#define assert_near(actual, expected, tolerance) \
    check_near((actual), (expected), (tolerance), #actual, __FILE__, __LINE__)

#endif
