//! Reading the provider's and the upstream's forms: the fields a browser would send back.

fn unescape(v: &str) -> String {
    v.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

pub(crate) fn input_value(html: &str, name: &str) -> Option<String> {
    attr_after(html, &format!("name=\"{name}\" value=\""))
}

pub(crate) fn form_action(html: &str) -> Option<String> {
    let form = html.find("<form")?;
    attr_after(&html[form..], "action=\"")
}
