/* cli.h: the command-line client, `cloudplane <client command>`. It talks to
 * a cloudplane server over its HTTP API with a bearer token and depends on
 * nothing of the server (no store, no engine): only core/ and libcurl, so a
 * client command starts without initialising anything of the server. */
#ifndef CP_CLI_H
#define CP_CLI_H

#include <stdio.h>

#include "core/cp.h"

/* True when name is a client command (login, projects, order, ...). */
bool cp_cli_is_command(const char *name);
/* Runs a client command: argv[0] is its name. Returns the exit code
 * (cli_int.h, cp_cli_exit). */
int cp_cli_main(int argc, char **argv);
/* `cloudplane help COMMAND [SUB]`: that command's help. */
int cp_cli_help(int argc, char **argv);
/* The client's part of `cloudplane help`: its commands and exit codes. */
void cp_cli_usage(FILE *f);

#endif
