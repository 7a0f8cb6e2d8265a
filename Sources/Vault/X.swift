public enum VaultX {}
