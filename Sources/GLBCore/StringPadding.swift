extension String {
    /// The string with `pad` in front up to `width` characters (`"7"` → `"007"`): numbers in
    /// fixed-width fields and right-aligned columns.
    public func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }

    /// The string with spaces after it up to `width` characters: left-aligned columns.
    public func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
