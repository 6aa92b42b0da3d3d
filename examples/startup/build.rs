fn main() {
    // Parses and checks every revision file; a bad one fails the build with retort's message.
    retort::build::embed_migrations("../../migrations/versions");
}
