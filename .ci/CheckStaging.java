// SPDX-License-Identifier: Apache-2.0
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Checks the staging repository that {@code ./mvnw verify} deploys to, as Maven Central would check a deployment:
 * every published artifact is there, a jar module with its sources and Javadoc jars, and every POM carries (itself
 * or through its parent) the metadata Central requires: name, description, url, licence, developer, SCM. Also
 * checks that no unpublished module was staged and that no published jar carries experiments or data.
 *
 * <p>{@code java .ci/CheckStaging.java STAGING_DIR VERSION ARTIFACT_ID...}: the artifact ids that must be there.
 */
public class CheckStaging {
    static final String GROUP = "io/github/sgdsai";
    static final Set<String> UNPUBLISHED_PREFIXES = Set.of("sgdsai-examples", "sgdsai-property-tests", "sgdsai-jmh",
            "sgdsai-experiment");
    static final List<String> errors = new ArrayList<>();
    static Path staging;
    static String version;

    public static void main(String[] args) throws Exception {
        staging = Path.of(args[0]);
        version = args[1];
        Path group = staging.resolve(GROUP);
        if (!Files.isDirectory(group)) {
            fail(group + " does not exist: run ./mvnw verify -Dsgdsai.stage first (it stages every published module)");
        } else {
            for (int i = 2; i < args.length; i++) {
                check(args[i]);
            }
            try (Stream<Path> s = Files.list(group)) {
                for (Path p : s.toList()) {
                    String a = p.getFileName().toString();
                    for (String u : UNPUBLISHED_PREFIXES) {
                        if (a.startsWith(u)) {
                            fail(a + " is unpublished (sgdsai.unpublished) but was staged");
                        }
                    }
                }
            }
        }
        if (!errors.isEmpty()) {
            errors.forEach(e -> System.err.println("staging: " + e));
            System.exit(1);
        }
        System.out.println("staging: " + (args.length - 2) + " artifacts in " + staging
                + ": jars with sources and Javadoc, Central's POM metadata, no experiments or data in the jars");
    }

    static void fail(String message) {
        errors.add(message);
    }

    /** The newest deployed file name without extension, e.g. sgdsai-core-0.1.0-20261205.070102-3. */
    static String newestBase(String artifactId) throws IOException {
        Path dir = staging.resolve(GROUP).resolve(artifactId).resolve(version);
        if (!Files.isDirectory(dir)) {
            return null;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".pom"))
                    .map(n -> n.substring(0, n.length() - 4)).max(String::compareTo).orElse(null);
        }
    }

    static void check(String artifactId) throws Exception {
        String base = newestBase(artifactId);
        if (base == null) {
            fail(artifactId + " " + version + " was not staged");
            return;
        }
        Path dir = staging.resolve(GROUP).resolve(artifactId).resolve(version);
        Element pom = parse(dir.resolve(base + ".pom"));
        String packaging = text(pom, "packaging");
        if (packaging == null || packaging.equals("jar")) {
            for (String suffix : List.of(".jar", "-sources.jar", "-javadoc.jar")) {
                Path jar = dir.resolve(base + suffix);
                if (!Files.isRegularFile(jar) || Files.size(jar) == 0) {
                    fail(artifactId + ": no " + base + suffix + " (Central needs the jar, its sources and its Javadoc)");
                }
            }
            Path jar = dir.resolve(base + ".jar");
            if (Files.isRegularFile(jar)) {
                checkJarContents(artifactId, jar);
            }
        }
        for (String[] required : new String[][] {{"name"}, {"description"}, {"url"}, {"licenses", "license", "name"},
                {"licenses", "license", "url"}, {"developers", "developer", "name"}, {"scm", "url"},
                {"scm", "connection"}}) {
            if (inherited(pom, required) == null) {
                fail(artifactId + ": the POM (with its parents) has no <" + String.join("><", required)
                        + ">, which Maven Central requires");
            }
        }
    }

    /** A published jar holds the library: no experiment packages, no data sets, the licence and notice. */
    static void checkJarContents(String artifactId, Path jar) throws IOException {
        boolean licence = false, notice = false;
        try (JarFile j = new JarFile(jar.toFile())) {
            for (var e : j.stream().toList()) {
                String n = e.getName();
                licence |= n.equals("META-INF/LICENSE");
                notice |= n.equals("META-INF/NOTICE");
                if (n.contains("/experiments/") || n.contains("/lm/") || n.contains("/grid/")
                        || n.endsWith(".gz") || n.endsWith(".png") || n.endsWith(".csv")) {
                    fail(artifactId + ": " + jar.getFileName() + " contains " + n
                            + " (experiments and data belong in unpublished modules)");
                }
            }
        }
        if (!licence || !notice) {
            fail(artifactId + ": " + jar.getFileName() + " lacks META-INF/LICENSE or META-INF/NOTICE");
        }
    }

    static Element parse(Path pom) throws Exception {
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
        return d.getDocumentElement();
    }

    /** The text of the child chain {@code path} in this POM or, if absent, in its parent's (from staging). */
    static String inherited(Element pom, String[] path) throws Exception {
        for (Element p = pom; p != null; p = parent(p)) {
            String t = text(p, path);
            if (t != null && !t.isBlank()) {
                return t;
            }
        }
        return null;
    }

    static Element parent(Element pom) throws Exception {
        Element parent = child(pom, "parent");
        if (parent == null) {
            return null;
        }
        String artifactId = text(parent, "artifactId");
        String base = newestBase(artifactId);
        if (base == null) {
            fail("parent POM " + artifactId + " was not staged (a published module's parent must be published)");
            return null;
        }
        return parse(staging.resolve(GROUP).resolve(artifactId).resolve(version).resolve(base + ".pom"));
    }

    static Element child(Element e, String name) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c && c.getTagName().equals(name)) {
                return c;
            }
        }
        return null;
    }

    static String text(Element e, String... path) {
        Element c = e;
        for (String p : path) {
            c = child(c, p);
            if (c == null) {
                return null;
            }
        }
        return c.getTextContent().trim();
    }
}
