/* pattern.c - the byte patterns (see pattern.h), from bench/pattern.c. */
#include "pattern.h"

#include <stdlib.h>
#include <string.h>

static unsigned char *table; /* len bytes, stored twice over */
static size_t len;
static size_t line;          /* lines mode: the message size; 0 in raw mode */

static void fill_random(unsigned char *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: fixed, reproducible */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 56);
    }
}

static bool is_prime(size_t n)
{
    if (n < 2)
        return false;
    for (size_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return false;
    return true;
}

/* The raw table's bytes cut into lines of size bytes. */
static void make_lines(unsigned char *p, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        size_t col = i % size;
        unsigned char b = p[i];
        if (col == size - 1)
            b = '\n';
        else if (b == '\n')
            b = '\n' ^ 0x80;
        else if (col == 0 && b == 'S')
            b = 's';
        p[i] = b;
    }
}

int ld_pat_init(bool lines, size_t size)
{
    size_t lines_n = 0;
    if (lines) {
        lines_n = (LD_PAT_LEN + size - 1) / size;
        while (!is_prime(lines_n))
            lines_n++;
    }
    len = lines ? lines_n * size : LD_PAT_LEN;
    line = lines ? size : 0;
    table = malloc(2 * len);
    if (!table)
        return -1;
    /* Raw mode is LD_PAT_LEN random bytes; lines mode repeats those as far
     * as it needs, before cutting them into lines. */
    fill_random(table, LD_PAT_LEN < len ? LD_PAT_LEN : len);
    for (size_t i = LD_PAT_LEN; i < len; i++)
        table[i] = table[i % LD_PAT_LEN];
    if (lines)
        make_lines(table, len, size);
    memcpy(table + len, table, len);
    return 0;
}

void ld_pat_free(void)
{
    free(table);
    table = NULL;
}

const unsigned char *ld_pat_at(uint64_t off)
{
    return table + off % len;
}

size_t ld_pat_len(void)
{
    return len;
}

/* 7919 is prime and far from LD_PAT_LEN: neighbours start far apart. */
uint64_t ld_pat_base(unsigned id)
{
    uint64_t base = (uint64_t)id * 7919u;
    return line ? base % (len / line) * line : base;
}
