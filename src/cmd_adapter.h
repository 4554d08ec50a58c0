/* cmd_adapter.h - the driftlab adapter command: list, merge, unmerge and
 * stack the adapters stored in a results file. */
#ifndef DRIFTLAB_CMD_ADAPTER_H
#define DRIFTLAB_CMD_ADAPTER_H

/* Help text of driftlab adapter, printed by driftlab help adapter. */
extern const char dl_cmd_adapter_help[];

/* Runs driftlab adapter with argv[0] = "adapter" and argv[1] the
 * subcommand. Returns the exit status: DL_EXIT_OK, DL_EXIT_FAILED when
 * writing fails or a round trip or stack check exceeds its bound, and
 * DL_EXIT_USAGE for bad arguments or bad input files (nothing written). */
int dl_cmd_adapter(int argc, char **argv);

#endif
