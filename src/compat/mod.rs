//! Other services' APIs, mapped onto npsd's own store and reports, so a shop can move to npsd by
//! changing a base URL and a key.
pub mod delighted;
