// The one translation unit that compiles Boost.Beast for the whole project.
#include <boost/beast/src.hpp>
