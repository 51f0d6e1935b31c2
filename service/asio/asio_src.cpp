// The one translation unit that compiles Boost.Asio (and its SSL support) for the whole project.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
