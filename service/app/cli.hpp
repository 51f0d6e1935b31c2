// The command line of SPEC section 2 (serve, migrate, check-config, demo, --version, --help)
// and `healthcheck` for containers.
#pragma once

namespace changefeed::app {

/// Runs the command named by argv; returns the process exit status (0 ok, 1 failure, 2 usage/config).
int run_cli(int argc, char** argv);

}  // namespace changefeed::app
