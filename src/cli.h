/* cli.h - the driftlab command line: run, check, render, info, help, version. */
#ifndef DRIFTLAB_CLI_H
#define DRIFTLAB_CLI_H

/* Exit statuses of every command. */
enum {
    DL_EXIT_OK = 0,
    DL_EXIT_FAILED = 1, /* a run or a file operation failed */
    DL_EXIT_USAGE = 2   /* bad arguments or a bad config */
};

/* Parses argv and runs the command. Returns the process exit status. */
int dl_cli_main(int argc, char **argv);

#endif
