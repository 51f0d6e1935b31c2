// Entry point: hands the command line to the application.
#include "app/cli.hpp"

int main(int argc, char** argv) { return changefeed::app::run_cli(argc, argv); }
