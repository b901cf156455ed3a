//! libnss_gatehouse.so.2 (being written).
