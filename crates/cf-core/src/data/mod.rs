pub mod csr;
pub mod ids;
pub mod parquet;
pub mod prepare;
pub mod read;
pub mod seen;
pub mod split;

#[cfg(test)]
mod tests;
