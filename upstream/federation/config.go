package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gqlast "github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astparser"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/asttransform"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/graphql_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/datasource/introspection_datasource"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/plan"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/operationreport"

	"github.com/portcullis-gw/portcullis/schema"
)

// definition parses the API schema (what clients validate against) into
// the engine's AST with the spec's base types and introspection fields.
func definition(api *gqlast.Schema) (*ast.Document, error) {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(api)
	doc, report := astparser.ParseGraphqlDocumentBytes(buf.Bytes())
	if report.HasErrors() {
		return nil, fmt.Errorf("parsing the API schema: %s", report.Error())
	}
	if err := asttransform.MergeDefinitionWithBaseSchema(&doc); err != nil {
		return nil, fmt.Errorf("preparing the API schema: %w", err)
	}
	return &doc, nil
}

// plannerConfig derives the engine's configuration from the composition:
// one data source per subgraph with its root and child nodes, keys,
// @requires, @provides and entity interfaces, each subgraph's SDL, and the
// arguments of every field.
func plannerConfig(ctx context.Context, g *schema.Graph, def *ast.Document, clients map[string]*http.Client, urls map[string]string) (plan.Configuration, error) {
	var cfg plan.Configuration
	subs, err := g.Extracted()
	if err != nil {
		return cfg, err
	}
	if len(subs) == 0 {
		return cfg, errors.New("the schema is not federated: federated execution needs subgraphs")
	}
	if labels := g.OverrideLabels(); len(labels) > 0 {
		return cfg, fmt.Errorf("%s is under progressive @override (label %q): a static plan cannot follow a percentage, so federated mode refuses it",
			labels[0].Coordinate, labels[0].Label)
	}
	for _, s := range subs {
		ds, err := dataSource(ctx, s, clients[s.Name], urls[s.Name])
		if err != nil {
			return cfg, fmt.Errorf("subgraph %q: %w", s.Name, err)
		}
		cfg.DataSources = append(cfg.DataSources, ds)
		for _, ei := range s.EntityInterfaces {
			if !slices.Contains(cfg.EntityInterfaceNames, ei.Interface) {
				cfg.EntityInterfaceNames = append(cfg.EntityInterfaceNames, ei.Interface)
			}
		}
	}
	cfg.Fields = argumentConfigs(g.Schema())
	intro, err := introspection_datasource.NewIntrospectionConfigFactory(def)
	if err != nil {
		return cfg, fmt.Errorf("introspection: %w", err)
	}
	cfg.DataSources = append(cfg.DataSources, intro.BuildDataSourceConfigurations()...)
	cfg.Fields = append(cfg.Fields, intro.BuildFieldConfigurations()...)
	return cfg, nil
}

// argumentConfigs tells the planner which arguments each field takes, so it
// passes them on to the subgraph that resolves the field.
func argumentConfigs(api *gqlast.Schema) plan.FieldConfigurations {
	var out plan.FieldConfigurations
	names := make([]string, 0, len(api.Types))
	for n := range api.Types {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		def := api.Types[n]
		if def.BuiltIn || strings.HasPrefix(n, "__") || (def.Kind != gqlast.Object && def.Kind != gqlast.Interface) {
			continue
		}
		for _, f := range def.Fields {
			if len(f.Arguments) == 0 || strings.HasPrefix(f.Name, "__") {
				continue
			}
			fc := plan.FieldConfiguration{TypeName: n, FieldName: f.Name}
			for _, a := range f.Arguments {
				fc.Arguments = append(fc.Arguments, plan.ArgumentConfiguration{Name: a.Name, SourceType: plan.FieldArgumentSource})
			}
			out = append(out, fc)
		}
	}
	return out
}

func dataSource(ctx context.Context, s schema.ExtractedSubgraph, client *http.Client, url string) (plan.DataSource, error) {
	if client == nil || url == "" {
		return nil, errors.New("no routing URL")
	}
	factory, err := graphql_datasource.NewFactory(ctx, client, noSubscriptions{})
	if err != nil {
		return nil, err
	}
	sc, err := graphql_datasource.NewSchemaConfiguration(s.SDL, &graphql_datasource.FederationConfiguration{Enabled: true, ServiceSDL: s.SDL})
	if err != nil {
		return nil, fmt.Errorf("subgraph schema: %w", err)
	}
	custom, err := graphql_datasource.NewConfiguration(graphql_datasource.ConfigurationInput{
		Fetch:               &graphql_datasource.FetchConfiguration{URL: url, Method: http.MethodPost},
		SchemaConfiguration: sc,
	})
	if err != nil {
		return nil, err
	}
	return plan.NewDataSourceConfigurationWithName(s.Name, s.Name, factory, metadata(s), custom)
}

func metadata(s schema.ExtractedSubgraph) *plan.DataSourceMetadata {
	md := &plan.DataSourceMetadata{RootNodes: typeFields(s.RootNodes), ChildNodes: typeFields(s.ChildNodes)}
	fm := &md.FederationMetaData
	for _, k := range s.Keys {
		fm.Keys = append(fm.Keys, plan.FederationFieldConfiguration{TypeName: k.Type, SelectionSet: k.Fields, DisableEntityResolver: !k.Resolvable})
	}
	for _, r := range s.Requires {
		fm.Requires = append(fm.Requires, plan.FederationFieldConfiguration{TypeName: r.Type, FieldName: r.Field, SelectionSet: r.Fields})
	}
	for _, p := range s.Provides {
		fm.Provides = append(fm.Provides, plan.FederationFieldConfiguration{TypeName: p.Type, FieldName: p.Field, SelectionSet: p.Fields})
	}
	for _, e := range s.EntityInterfaces {
		fm.EntityInterfaces = append(fm.EntityInterfaces, plan.EntityInterfaceConfiguration{InterfaceTypeName: e.Interface, ConcreteTypeNames: e.Types})
	}
	for _, e := range s.InterfaceObjects {
		fm.InterfaceObjects = append(fm.InterfaceObjects, plan.EntityInterfaceConfiguration{InterfaceTypeName: e.Interface, ConcreteTypeNames: e.Types})
	}
	return md
}

func typeFields(in []schema.TypeFields) []plan.TypeField {
	out := make([]plan.TypeField, 0, len(in))
	for _, t := range in {
		out = append(out, plan.TypeField{TypeName: t.Type, FieldNames: t.Fields, ExternalFieldNames: t.External})
	}
	return out
}

// noSubscriptions is the subscription client of every data source:
// federated routes serve queries and mutations over HTTP only.
type noSubscriptions struct{}

func (noSubscriptions) Subscribe(*resolve.Context, graphql_datasource.GraphQLSubscriptionOptions, resolve.SubscriptionUpdater) error {
	return errors.New("subscriptions are not served in federated mode")
}

// checkReport turns an engine report into an error.
func checkReport(what string, r *operationreport.Report) error {
	if !r.HasErrors() {
		return nil
	}
	return fmt.Errorf("%s: %s", what, r.Error())
}
