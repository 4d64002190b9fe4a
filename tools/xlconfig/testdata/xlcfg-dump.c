/*
 * xlcfg-dump: parse an xl domain config with Xen's own parser (libxlutil) and print the
 * named settings, so tests of xlconfig.Render check quoting against the real rules.
 *
 * Usage: xlcfg-dump CONFIG KEY...
 * Prints one line per value: "KEY LENGTH:VALUE" for a string or number, and
 * "KEY[INDEX] LENGTH:VALUE" for each item of a list; "KEY absent" when not set.
 * Exits 2 when the file does not parse.
 */
#include <stdio.h>
#include <string.h>
#include <libxlutil.h>

static void print_value(const char *key, int index, const char *value)
{
    if (index < 0)
        printf("%s %zu:%s\n", key, strlen(value), value);
    else
        printf("%s[%d] %zu:%s\n", key, index, strlen(value), value);
}

int main(int argc, char **argv)
{
    XLU_Config *config;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: xlcfg-dump CONFIG KEY...\n");
        return 1;
    }
    config = xlu_cfg_init(stderr, argv[1]);
    if (!config || xlu_cfg_readfile(config, argv[1]))
        return 2;

    for (i = 2; i < argc; i++) {
        XLU_ConfigList *list;
        const char *value;
        int count, j;

        if (!xlu_cfg_get_list(config, argv[i], &list, &count, 1)) {
            for (j = 0; j < count; j++)
                print_value(argv[i], j, xlu_cfg_get_listitem(list, j));
        } else if (!xlu_cfg_get_string(config, argv[i], &value, 1)) {
            print_value(argv[i], -1, value);
        } else {
            printf("%s absent\n", argv[i]);
        }
    }
    xlu_cfg_destroy(config);
    return 0;
}
