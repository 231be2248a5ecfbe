//! Database connections (plain or TLS) and the versioned migrations behind `certanon db init`.
