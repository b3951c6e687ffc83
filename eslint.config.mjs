// Lint and formatting in the Effect house style: typescript-eslint's recommended rules plus dprint with
// the settings of the Effect repository (2 spaces, 120 columns, no semicolons, double quotes).
import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/dist", "**/build", "**/node_modules", "**/*.md", "**/results"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    rules: {
      "no-fallthrough": "off",
      "object-shorthand": "error",
      // Effect's own rules: one import per module (a type-only import beside it is fine), and no spread into
      // `push`, which overflows the stack on a large array.
      "no-duplicate-imports": ["error", { allowSeparateTypeImports: true }],
      "no-restricted-syntax": ["error", {
        selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
        message: "Do not use spread arguments in Array.push"
      }],
      "require-yield": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      "@typescript-eslint/array-type": ["error", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }]
    }
  },
  {
    files: ["packages/*/src/**/*"],
    rules: { "no-console": "error" }
  },
  // A package's modules never import the package's own barrel: its index imports them, so that would be a cycle.
  ...["backfills", "simulator", "workflow", "cli"].map((pkg) => ({
    files: [`packages/${pkg}/src/**/*`],
    rules: {
      "no-restricted-imports": ["error", {
        paths: [{ name: `@effect-orb/${pkg}`, message: "import the module itself, not the package's own index" }],
        patterns: [{ regex: "^\\.\\.?/(\\.\\./)*index\\.js$", message: "import the module itself, not the index" }]
      }]
    }
  })),
  {
    // The benchmarks report on the console.
    files: ["packages/bench/src/**/*"],
    rules: { "no-console": "off" }
  }
)
