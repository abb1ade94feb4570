// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <utility>
#include <variant>

namespace autofact::server {

/** Why a store call failed. */
struct StoreError {
    enum class Kind {
        Database, ///< the database refused or failed (I/O, lock, constraint, corrupt file)
        NotOpen,  ///< the store was never opened, or opening failed
        NotFound, ///< a named client (or row) does not exist
        Invalid,  ///< the request itself is unacceptable (e.g. a config out of bounds)
    };
    Kind kind = Kind::Database;
    QString message; ///< one line, for logs, status bars and command-line errors
};

/**
 * The store's one result style: a value, or a StoreError saying what failed and why. A read
 * that fails is an error, never an empty answer, so "no clients" and "could not read the
 * clients" cannot be confused. Modelled on C++23's std::expected, which C++20 lacks.
 */
template<typename T>
class [[nodiscard]] StoreResult
{
public:
    StoreResult(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    StoreResult(StoreError error) : m_state(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_state.index() == 0; }
    explicit operator bool() const { return ok(); }

    /** The value; only when ok(). */
    T &value() & { return std::get<0>(m_state); }
    const T &value() const & { return std::get<0>(m_state); }
    T &&value() && { return std::get<0>(std::move(m_state)); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    /** The value, or @p fallback when failed (for callers that have logged the error). */
    T valueOr(T fallback) const & { return ok() ? value() : std::move(fallback); }

    /** The failure; only when !ok(). */
    const StoreError &error() const { return std::get<1>(m_state); }
    /** The failure's message, or an empty string when ok(). */
    QString errorMessage() const { return ok() ? QString() : error().message; }

private:
    std::variant<T, StoreError> m_state;
};

/** A call that returns nothing but may fail. */
template<>
class [[nodiscard]] StoreResult<void>
{
public:
    StoreResult() = default;
    StoreResult(StoreError error) : m_error(std::move(error)), m_failed(true) {}

    bool ok() const { return !m_failed; }
    explicit operator bool() const { return ok(); }
    const StoreError &error() const { return m_error; }
    QString errorMessage() const { return ok() ? QString() : m_error.message; }

private:
    StoreError m_error;
    bool m_failed = false;
};

/** Shorthand for building failures: `return storeError(StoreError::Kind::NotFound, msg);`. */
inline StoreError storeError(StoreError::Kind kind, QString message)
{
    return StoreError{kind, std::move(message)};
}
inline StoreError databaseError(QString message)
{
    return StoreError{StoreError::Kind::Database, std::move(message)};
}

} // namespace autofact::server
