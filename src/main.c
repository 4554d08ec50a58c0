/* main.c - entry point of the driftlab program. */
#include "cli.h"

int main(int argc, char **argv)
{
    return dl_cli_main(argc, argv);
}
