pub mod vader;
