#include "app/cli.hpp"

#include <cstdio>

namespace changefeed::app {

int run_cli(int, char**) {
    std::puts("changefeed " CHANGEFEED_VERSION);
    return 0;
}

}  // namespace changefeed::app
