// Command kube-strict decodes every object of a rendered manifest stream (`helm template` output on
// stdin) strictly against the Go types of its API group, the way an API server with
// fieldValidation=Strict would: an unknown field, a duplicate field or a value of the wrong type is
// an error, where a plain `kubectl apply` or `helm install` only warns (or silently drops it). It
// also checks what every server checks first: object names and label keys and values.
//
// It prints one line per bad object, naming it, the template it came from and the field, and exits
// 1; with every object good it prints how many it decoded and exits 0. An object of a kind it has
// no type for is an error too, so a new kind in the chart is added here on purpose.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		batchv1.AddToScheme,
		autoscalingv2.AddToScheme,
		policyv1.AddToScheme,
		networkingv1.AddToScheme,
		rbacv1.AddToScheme,
		monitoringv1.AddToScheme,
		kedav1alpha1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return scheme
}

var scheme = newScheme()

var sourceComment = regexp.MustCompile(`(?m)^# Source: (.+)$`)

// An object's identity as far as a document says, before it is decoded.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func main() {
	decoder := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Strict: true})
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	decoded, failed := 0, 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "kube-strict: cannot read the manifest stream: %v\n", err)
			os.Exit(2)
		}
		source := "?"
		if match := sourceComment.FindSubmatch(doc); match != nil {
			source = string(match[1])
		}
		problems, name := check(decoder, doc)
		if name == "" {
			continue // a document of comments only (a template that rendered nothing)
		}
		decoded++
		for _, problem := range problems {
			failed++
			fmt.Fprintf(os.Stderr, "kube-strict: %s (%s): %s\n", name, source, problem)
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "kube-strict: %d problem(s) in %d object(s)\n", failed, decoded)
		os.Exit(1)
	}
	fmt.Printf("kube-strict: %d objects decoded strictly\n", decoded)
}

// check returns the problems of one document and the object's name ("Kind/name"), or no name for
// an empty document.
func check(decoder runtime.Decoder, doc []byte) ([]string, string) {
	// YAMLToJSONStrict refuses duplicate keys, which a YAML parser would otherwise resolve silently.
	jsonDoc, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return []string{fmt.Sprintf("not valid YAML: %v", err)}, "document"
	}
	if bytes.Equal(bytes.TrimSpace(jsonDoc), []byte("null")) {
		return nil, ""
	}
	var head header
	if err := yaml.Unmarshal(jsonDoc, &head); err != nil {
		return []string{fmt.Sprintf("not an object: %v", err)}, "document"
	}
	name := head.Kind + "/" + head.Metadata.Name
	gvk := schema.FromAPIVersionAndKind(head.APIVersion, head.Kind)
	if !scheme.Recognizes(gvk) {
		return []string{fmt.Sprintf("no Go type for %s in %s: add its API group to kube-strict", head.Kind, head.APIVersion)}, name
	}
	obj, _, err := decoder.Decode(jsonDoc, nil, nil)
	var problems []string
	if err != nil {
		if !runtime.IsStrictDecodingError(err) {
			return []string{err.Error()}, name
		}
		// A strict error still decodes the object; its other checks below still apply.
		problems = append(problems, err.Error())
	}
	for _, invalid := range validate(obj) {
		problems = append(problems, invalid.Error())
	}
	return problems, name
}

// Services (and the DNS names of their pods) need RFC 1035 labels; everything else here RFC 1123
// subdomains.
func nameCheck(obj runtime.Object) apivalidation.ValidateNameFunc {
	if _, isService := obj.(*corev1.Service); isService {
		return apivalidation.NameIsDNS1035Label
	}
	return apivalidation.NameIsDNSSubdomain
}

// validate checks what the API server checks of every object regardless of kind (name, labels,
// annotations), the labels of pod templates and selectors, and KEDA's derived HPA name.
func validate(obj runtime.Object) field.ErrorList {
	if obj == nil {
		return nil
	}
	accessor, ok := obj.(metav1.Object)
	if !ok {
		return nil
	}
	meta := metav1.ObjectMeta{
		Name:        accessor.GetName(),
		Namespace:   accessor.GetNamespace(),
		Labels:      accessor.GetLabels(),
		Annotations: accessor.GetAnnotations(),
	}
	// Every kind the chart renders is namespaced, and the chart sets the namespace of each.
	errs := apivalidation.ValidateObjectMeta(&meta, true, nameCheck(obj), field.NewPath("metadata"))
	templateLabels := func(labels map[string]string) {
		errs = append(errs, metav1validation.ValidateLabels(labels, field.NewPath("spec", "template", "metadata", "labels"))...)
	}
	switch typed := obj.(type) {
	case *appsv1.Deployment:
		templateLabels(typed.Spec.Template.Labels)
	case *batchv1.Job:
		templateLabels(typed.Spec.Template.Labels)
	case *kedav1alpha1.ScaledObject:
		// KEDA names the HPA it creates "keda-hpa-<ScaledObject name>" unless told otherwise; the
		// name must also be a label value (KEDA labels the HPA with it), so at most 63 characters.
		hpaName := "keda-hpa-" + typed.Name
		path := field.NewPath("metadata", "name")
		if advanced := typed.Spec.Advanced; advanced != nil && advanced.HorizontalPodAutoscalerConfig != nil &&
			advanced.HorizontalPodAutoscalerConfig.Name != "" {
			hpaName = advanced.HorizontalPodAutoscalerConfig.Name
			path = field.NewPath("spec", "advanced", "horizontalPodAutoscalerConfig", "name")
		}
		for _, msg := range validation.IsDNS1123Label(hpaName) {
			errs = append(errs, field.Invalid(path, hpaName, "the HPA KEDA derives: "+msg))
		}
	}
	return errs
}
