/* numparse — whole decimal numbers from command lines, query strings and
 * stored text, strictly (the replacement for atoi/atol/atoll).
 * Owns: nothing; pure functions. */
#ifndef ATOLL_NUMPARSE_H
#define ATOLL_NUMPARSE_H

/* Parses all of s as a decimal integer in [min, max] (an optional sign,
 * digits, nothing else: no spaces, no "12abc", no empty string, no
 * overflow). Returns 0 and sets *out, or -1 and leaves *out alone. */
int num_parse_ll(const char *s, long long min, long long max, long long *out);
/* The same for an int. */
int num_parse_int(const char *s, int min, int max, int *out);

#endif
